"""The FONTS-like data: prototypes, the decoder, its exact tangent, sampling."""
import pytest
import torch
import torch.nn.functional as F

from dmmlib.data import fonts


@pytest.fixture(scope="module")
def dec():
    return fonts.FontsDecoder(n_fonts=6)


def test_prototypes_are_distinct_glyphs(dec):
    p = dec.protos
    assert p.shape == (6, 10, 28, 28)
    assert 0 <= float(p.min()) and float(p.max()) <= 1
    ink = p.sum((2, 3))
    assert float(ink.min()) > 20  # every glyph has ink
    flat = p.reshape(-1, 784)
    d = torch.cdist(flat, flat) + 1e3 * torch.eye(len(flat))
    assert float(d.min()) > 0.3  # no two glyphs are the same image


def test_identity_code_gives_the_prototype(dec):
    font, letter = torch.tensor([0, 3, 5]), torch.tensor([1, 7, 9])
    ident = torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0]]).repeat(3, 1)
    out = dec(font, letter, ident)
    assert torch.allclose(out[:, 0], dec.protos[font, letter], atol=1e-5)


def test_samplers_agree_with_torch_affine_grid(dec):
    s = fonts.make_fonts(16, seed=3, decoder=dec)
    theta = fonts.affine_matrix(s.params)
    grid = F.affine_grid(theta, (16, 1, 28, 28), align_corners=False)
    ref = F.grid_sample(dec.protos[s.font, s.y][:, None], grid, align_corners=False)
    ours = dec(s.font, s.y, s.params, sampler="gather")
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(s.x, ref, atol=1e-5)


def test_transform_moves_the_glyph(dec):
    font, letter = torch.tensor([0, 0]), torch.tensor([0, 0])
    a = torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0], [0.1, 0.0, 0.0, 0.0, 1.0]])
    img = dec(font, letter, a)[:, 0]
    cols = torch.arange(28.0)
    centre = (img.sum(1) * cols).sum(1) / img.sum((1, 2))
    # tx = 0.1 moves the glyph right by 0.1 * 14 = 1.4 pixels
    assert 1.2 < float(centre[1] - centre[0]) < 1.6


def test_tangent_is_the_exact_jacobian(dec):
    s = fonts.make_fonts(3, seed=4, decoder=dec)
    J = fonts.tangent(dec, s.font, s.y, s.params.double())
    assert J.shape == (3, 784, 5)
    for b in range(3):
        for sampler, tol in (("gather", 1e-10), ("grid_sample", 1e-4)):  # reverse mode, both samplers
            ref = torch.autograd.functional.jacobian(
                lambda a: dec(s.font[b : b + 1], s.y[b : b + 1], a[None], sampler=sampler).reshape(-1),
                s.params[b].double())
            assert float(ref.abs().max()) > 1
            assert torch.allclose(J[b], ref, atol=tol)
    # and it approximates finite differences (bilinear sampling has kinks: small step, loose match)
    h = 1e-6
    for i in range(5):
        e = torch.zeros(3, 5, dtype=torch.float64)
        e[:, i] = h
        p = s.params.double()
        fd = (dec(s.font, s.y, p + e) - dec(s.font, s.y, p - e)).reshape(3, -1) / (2 * h)
        rel = (fd - J[:, :, i]).norm(dim=1) / J[:, :, i].norm(dim=1)
        assert float(rel.max()) < 0.05


def test_make_fonts_is_seeded_and_in_the_box(dec):
    a, b, c = (fonts.make_fonts(50, seed=s, decoder=dec) for s in (1, 1, 2))
    assert torch.equal(a.x, b.x) and torch.equal(a.params, b.params)
    assert not torch.equal(a.x, c.x)
    lo, hi = fonts.param_bounds()
    assert bool(((a.params >= lo) & (a.params <= hi)).all())
    assert a.x.shape == (50, 1, 28, 28) and a.y.dtype == torch.int64
    assert 0 <= float(a.x.min()) and float(a.x.max()) <= 1


def test_bad_codes_raise_one_clear_error(dec):
    good = torch.zeros(2, 5)
    with pytest.raises(ValueError, match="font indices"):
        dec(torch.tensor([0, 6]), torch.tensor([0, 0]), good)
    with pytest.raises(ValueError, match="params"):
        dec(torch.tensor([0, 0]), torch.tensor([0, 0]), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="letter"):
        dec(torch.tensor([0, 0]), torch.tensor([0.0, 1.0]), good)
    with pytest.raises(ValueError, match="n_fonts"):
        fonts.prototypes(99)
    with pytest.raises(ValueError, match="sampler"):
        dec(torch.tensor([0, 0]), torch.tensor([0, 0]), good, sampler="nearest")
