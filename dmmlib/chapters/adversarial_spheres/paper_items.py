"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "adversarial_spheres"
RELU = ("d = {d}, R = {R}; ReLU network of 2 × {relu_hidden} units, {relu_steps} online steps, {seeds} seeds; "
        "manifold attack from {attack_points} points")
QUAD = "d = {d}; quadratic network of {quad_hidden} units, {quad_steps} steps on N = {quad_N} points, {seeds} seeds"

ITEMS = [
    PaperItem("gilmer", "Figure 1", "full", ("fig-spheres-slices",), (), RELU + "; slices of {slice_grid}² points"),
    PaperItem("gilmer", "Figure 2", "full", ("fig-spheres-norms", "fig-spheres-d2"), (),
              RELU + "; {norm_samples} points per norm, attack from {reach_points} points per norm"),
    PaperItem("gilmer", "Figure 3", "full", ("fig-spheres-alphas", "fig-spheres-perfect-init"),
              (f"{CH}.quad_alpha_count",), QUAD + "; perfect start: {perfect_steps} steps on N = {perfect_N}"),
    PaperItem("gilmer", "Figure 4", "full", ("spheres-fig4", "fig-spheres-kfrac"), (f"{CH}.fig4_k_fraction",),
              "d in {fig4_dims}, error rates {fig4_errors}",
              note="The threshold b minimises the mean of the two spheres' errors; the paper does not say how it "
                   "chose b."),
    PaperItem("gilmer", "Figure 5", "full", ("spheres-tradeoff", "fig-spheres-tradeoff"),
              (f"{CH}.cap_bound", f"{CH}.deep_cap_bound"),
              "d = {d}; training sets N in {tradeoff_N} (0: online), {tradeoff_checkpoints} checkpoints, "
              "{tradeoff_eval} samples and {tradeoff_points} attacked points each; the large ReLU network "
              "{deep_depth} × {deep_hidden} units, {deep_steps} steps, on N in {deep_N}",
              note="The three networks. The quick profile trains the large ReLU network narrower (the paper's depth, "
                   "fewer units) on two training-set sizes; the paper profile has 2000 units at depth 8 on the five N."),
    PaperItem("gilmer", "Section 3", "full", ("spheres-relu", "spheres-dsweep", "fig-spheres-dsweep"),
              (f"{CH}.on_off_ratio", f"{CH}.dsweep_onset"),
              RELU + "; the sweep over d in {dsweep_dims}: {dsweep_seeds} networks of 2 × {dsweep_hidden} units, "
              "{dsweep_steps} steps each",
              note="The d at which adversarially findable errors appear depends on the training length; the quick "
                   "sweep trains far shorter than the paper, so its onset is not the paper's d = 60."),
    PaperItem("gilmer", "Proposition 4.1", "full", ("spheres-clt", "fig-spheres-clt"), (f"{CH}.clt_estimate",),
              QUAD + "; {quad_samples} samples per network",
              note="The proof's sign and square (eq. 10) are used; the proposition's statement prints them wrong."),
    PaperItem("gilmer", "Theorem 5.1", "full", ("spheres-tradeoff",), (f"{CH}.cap_bound",),
              "the exact spherical cap at d = {d}, against trained networks",
              note="The cap's mean distance is computed exactly (incomplete beta), beside appendix A's Gaussian form."),
    PaperItem("dmm", "Appendix A", "partial", ("spheres-dmm",), (f"{CH}.gradient_normal", f"{CH}.on_off_ratio"), RELU,
              note="The concentration-of-measure link only (Gilmer et al.): on- and off-manifold errors and the "
                   "gradient's direction on the spheres."),
]
