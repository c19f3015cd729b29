"""`python -m reports`: one self-contained HTML file that says which cell type wins on each dataset,
how sure we are, and at what cost, from the studies in an Optuna storage."""
