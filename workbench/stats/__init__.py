"""Pure statistics over numpy arrays: no Flask, no database, no I/O.

``alpha`` computes Krippendorff's alpha (all four levels) with a bootstrap CI;
``reliability_table`` parses the raters × units CSV layout into a matrix.
"""

from workbench.stats.alpha import alpha_from_matrix, alpha_with_ci, krippendorff_alpha, value_counts_from_matrix

__all__ = ["alpha_from_matrix", "alpha_with_ci", "krippendorff_alpha", "value_counts_from_matrix"]
