"""dmmlib.plots.animation: the animation player loads nothing from the internet."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.animation as mpl_animation  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from dmmlib.plots.animation import animation_html  # noqa: E402


def test_player_is_offline_and_keeps_its_buttons():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1])
    anim = mpl_animation.FuncAnimation(fig, lambda i: (line,), frames=3)
    raw = anim.to_jshtml()
    assert "https://" in raw and 'class="fa fa-play"' in raw  # what matplotlib gives
    html = animation_html(anim).data
    plt.close(fig)
    assert "https://" not in html and "http://" not in html
    assert 'class="fa ' not in html and "▶︎" in html and "⏸" in html
    assert html.count("<button") == raw.count("<button") and "<img" in html
