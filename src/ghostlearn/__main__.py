"""``python -m ghostlearn``: the same command line as the ``ghostlearn`` script."""

from .cli import app


def main() -> None:
    """Run the command line under the name ``ghostlearn`` (in help and usage lines)."""
    app(prog_name="ghostlearn")


if __name__ == "__main__":
    main()
