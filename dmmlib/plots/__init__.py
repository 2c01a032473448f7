"""Figures and Jupyter widgets, one file per topic. Import from the submodules."""
