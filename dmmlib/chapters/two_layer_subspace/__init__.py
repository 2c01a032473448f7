"""The chapter "Two-layer ReLU networks on a linear subspace" (Melamed, Yehudai and Vardi 2023)."""
