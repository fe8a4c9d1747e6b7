"""Markdown tables."""

from typing import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: the header row, the separator row and one row per entry of ``rows``."""
    separator = '|' + '---|' * len(header)
    body = ['| ' + ' | '.join(cells) + ' |' for cells in rows]
    return '\n'.join(['| ' + ' | '.join(header) + ' |', separator, *body])
