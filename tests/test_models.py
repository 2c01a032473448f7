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


def test_resnet_depths():
    assert CifarResNet(56)(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(21)
    with pytest.raises(ValueError, match="depth"):
        load_pretrained(32)


@pytest.mark.parametrize("ae,shape", [(MnistAutoencoder(), (1, 28, 28)), (CifarAutoencoder(width=8), (3, 32, 32))])
def test_autoencoder_shapes_range_and_exact_jacobian(ae, shape):
    ae.eval()
    x = torch.rand(4, *shape)
    c = ae.encode(x)
    assert c.shape == (4, ae.latent_dim)
    y = ae.decode(c)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    # the decoder works under functorch: jvp agrees with a central finite difference (fp64)
    ae64 = ae.double()
    c64, v = c.double().detach(), torch.randn(4, ae.latent_dim, dtype=torch.float64)
    _, tangent = torch.func.jvp(ae64.decode, (c64,), (v,))
    h = 1e-6
    fd = (ae64.decode(c64 + h * v) - ae64.decode(c64 - h * v)) / (2 * h)
    assert torch.allclose(tangent, fd, atol=1e-6)
    ae.float()
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
