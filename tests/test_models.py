import pytest
import torch
from torch import nn

from dmmlib.data.cifar10 import load_cifar10
from dmmlib.models.autoencoders import CifarAutoencoder, MnistAutoencoder
from dmmlib.models.mlp import MnistMLP
from dmmlib.models.resnet_cifar import CifarResNet, load_pretrained


def test_mlp_shapes_and_architecture():
    m = MnistMLP().eval()
    assert m(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    sizes = [(l.in_features, l.out_features) for l in m.modules() if isinstance(l, nn.Linear)]
    assert sizes == [(784, 256), (256, 256), (256, 10)]
    assert [d.p for d in m.modules() if isinstance(d, nn.Dropout)] == [0.2, 0.2]
    with pytest.raises(ValueError, match="28"):
        m(torch.rand(2, 3, 32, 32))


def test_resnet20_loads_strictly_and_classifies_test_images():
    m = load_pretrained(20)
    assert sum(p.numel() for p in m.parameters()) == pytest.approx(0.27e6, rel=0.02)
    s = load_cifar10("test")
    idx = torch.arange(0, 10000, 250)  # 40 images, 4 per class
    with torch.no_grad():
        pred = m(s.x[idx]).argmax(1)
    assert (pred == s.y[idx]).float().mean() >= 0.8
    assert not m.training
    assert 91.0 < m.checkpoint_accuracy < 92.5  # best_prec1 recorded in the checkpoint (91.78 %)


def test_resnet_depths():
    assert CifarResNet(56)(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(21)
    with pytest.raises(ValueError, match="depth"):
        load_pretrained(32)


@pytest.mark.parametrize("build,shape", [(MnistAutoencoder, (1, 28, 28)), (lambda: CifarAutoencoder(width=8), (3, 32, 32))])
def test_autoencoder_shapes_range_and_exact_jacobian(build, shape):
    torch.manual_seed(0)
    ae = build().eval()
    x = torch.rand(4, *shape)
    c = ae.encode(x)
    assert c.shape == (4, ae.latent_dim)
    y = ae.decode(c)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    # the decoder works under functorch: forward-mode jvp equals the reverse-mode Jacobian times v
    c1, v = c[:1].detach(), torch.randn(1, ae.latent_dim)
    _, tangent = torch.func.jvp(ae.decode, (c1,), (v,))
    J = torch.autograd.functional.jacobian(ae.decode, c1).reshape(-1, ae.latent_dim)
    assert torch.allclose(tangent.flatten(), J @ v[0], atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        ae.decode(torch.rand(4, ae.latent_dim + 1))


def test_cifar_autoencoder_has_no_unpooling_indices_through_the_bottleneck():
    ae = CifarAutoencoder(width=8)
    banned = (nn.MaxPool2d, nn.MaxUnpool2d, nn.BatchNorm2d, nn.Dropout)
    assert not any(isinstance(m, banned) for m in ae.modules())
    # decode depends on the code only: identical codes give identical images whatever the inputs
    x1, x2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    c = ae.encode(x1)
    assert torch.equal(ae.decode(c), ae.decode(c.clone()))
    assert not torch.equal(ae.encode(x2), c)


def test_imagenet_autoencoder_shapes_range_jacobian_and_no_pooling():
    from dmmlib.models.autoencoders import ImageNetAutoencoder

    assert ImageNetAutoencoder(width=1).latent_dim == 3584  # the paper's k: sqrt(150528 / 3584) = 6.48
    torch.manual_seed(0)
    ae = ImageNetAutoencoder(latent_dim=6, width=4).double().eval()
    x = torch.rand(2, 3, 224, 224, dtype=torch.float64)
    c = ae.encode(x)
    assert c.shape == (2, 6)
    y = ae.decode(c)
    assert y.shape == x.shape and 0 < y.min() and y.max() < 1
    # exact Jacobian (forward mode) against central finite differences along two code directions
    c1 = torch.randn(1, 6, dtype=torch.float64)  # codes of a random encoder are tiny; a generic point
    for i, v in enumerate(torch.eye(6, dtype=torch.float64)[[0, 4]]):
        _, jv = torch.func.jvp(ae.decode, (c1,), (v[None],))
        h = 1e-5
        fd = (ae.decode(c1 + h * v) - ae.decode(c1 - h * v)) / (2 * h)
        assert jv.abs().max() > 1e-6, i  # the direction moves the image
        assert torch.allclose(jv, fd, atol=1e-7, rtol=1e-4), i
    banned = (nn.MaxPool2d, nn.MaxUnpool2d, nn.BatchNorm2d, nn.Dropout)
    assert not any(isinstance(m, banned) for m in ae.modules())
    # the decoder sees only the code: two inputs with one code decode identically
    assert torch.equal(ae.decode(c[:1]), ae.decode(c[:1].clone()))
    with pytest.raises(ValueError, match="shape"):
        ae.encode(torch.rand(1, 3, 32, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        ae.decode(torch.rand(1, 7, dtype=torch.float64))
