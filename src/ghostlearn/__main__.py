"""``python -m ghostlearn``: the same command line as the ``ghostlearn`` script."""

from .cli import main as _cli_main


def main() -> None:
    """Run the command line under the name ``ghostlearn`` (in help and usage lines)."""
    _cli_main(prog_name="ghostlearn")


if __name__ == "__main__":
    main()
