"""The networks of the papers, one file each. Import from the submodules."""
