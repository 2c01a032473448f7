"""Knobs of the trained models every natural-image chapter shares and their values under each profile.

the trained models every natural-image chapter shares (dmmlib/zoo.py; appendix G).
*_train_size 0 = all available training images (MNIST: 60,000 with torchvision's files,
else the 5,000 offline digits; CIFAR-10: the 10,000 airplane+automobile images).
Every shared model records its loss on held-out test images after every epoch, and the book's
one convergence rule (dmmlib/convergence.py) judges that curve.
paper: G.1's SGD (no momentum stated) and Adam settings; quick: on all 60,000 MNIST digits,
the classifier gets G.1's 40 epochs with momentum 0.9 (G.1's literal recipe, without
momentum, reached 95.1 % test accuracy after 40 epochs here, short of the 98 % G.1 reports;
with momentum 0.9 the MLP passes 98 % after about 25 epochs; about 80 s per classifier on
one CPU thread); the MNIST autoencoder gets 60 of G.1's 1,000 epochs, where its held-out
MSE has stopped falling by the rule (at 40 epochs it still fell 0.5-1.5 % per tenth of training,
within the epoch-to-epoch noise; about 7 s per epoch on one CPU thread, so 7 min per
autoencoder); the CIFAR autoencoder gets 5 epochs (1,560 Adam steps of 32, about 1.5 min per
epoch on one CPU thread), far from converged: the claims resting on it are not tested under
quick, and paper's 400 epochs are for a GPU.
ImageNet autoencoder (goldfish + great white shark, the user's ImageNet train split;
imagenet_train_per_class 0 = all, about 1,300 per class): paper = G.3 (Adam, 325 epochs,
lr 1e-4, batch 32, k = 3584) with width 64 (VGG16's 512 x 7 x 7 bottom, our choice: G.3
gives no width); quick keeps k = 3584 (table 1's sqrt(n/k)) but width 16, 300 images per
class, 10 epochs and lr 1e-3 (our choice: about 25 min on one CPU thread, 0.25 s per image
and epoch); smoke: a toy for tests (k = 8, 8 images, 1 epoch). Its convergence is judged on
its training loss (no held-out ImageNet images are read).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'mnist_train_size': 0,
 'mnist_clf_epochs': 40,
 'mnist_clf_lr': 0.01,
 'mnist_clf_momentum': 0.9,
 'mnist_clf_weight_decay': 0.0001,
 'mnist_clf_batch_size': 200,
 'mnist_ae_epochs': 60,
 'mnist_ae_lr': 0.001,
 'mnist_ae_batch_size': 144,
 'mnist_ae_latent_dim': 16,
 'cifar_train_size': 0,
 'cifar_ae_epochs': 5,
 'cifar_ae_lr': 0.001,
 'cifar_ae_batch_size': 32,
 'cifar_ae_latent_dim': 128,
 'cifar_ae_width': 32,
 'imagenet_train_per_class': 300,
 'imagenet_ae_epochs': 10,
 'imagenet_ae_lr': 0.001,
 'imagenet_ae_batch_size': 32,
 'imagenet_ae_latent_dim': 3584,
 'imagenet_ae_width': 16,
 'seed': 0}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'mnist_train_size': 1000,
 'mnist_clf_epochs': 10,
 'mnist_clf_lr': 0.05,
 'mnist_ae_epochs': 2,
 'cifar_train_size': 256,
 'cifar_ae_epochs': 1,
 'cifar_ae_width': 8,
 'imagenet_train_per_class': 4,
 'imagenet_ae_epochs': 1,
 'imagenet_ae_batch_size': 4,
 'imagenet_ae_latent_dim': 8,
 'imagenet_ae_width': 4}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'mnist_clf_epochs': 40,
 'mnist_clf_momentum': 0.0,
 'mnist_ae_epochs': 1000,
 'cifar_ae_epochs': 400,
 'cifar_ae_width': 64,
 'imagenet_train_per_class': 0,
 'imagenet_ae_epochs': 325,
 'imagenet_ae_lr': 0.0001,
 'imagenet_ae_width': 64}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'mnist_train_size': (0, 60000),
 'mnist_clf_epochs': (1, 1000),
 'mnist_clf_lr': (1e-05, 5.0),
 'mnist_clf_momentum': (0.0, 0.999),
 'mnist_clf_weight_decay': (0.0, 0.1),
 'mnist_clf_batch_size': (1, 60000),
 'mnist_ae_epochs': (1, 10000),
 'mnist_ae_lr': (1e-06, 0.1),
 'mnist_ae_batch_size': (1, 60000),
 'mnist_ae_latent_dim': (1, 784),
 'cifar_train_size': (0, 10000),
 'cifar_ae_epochs': (1, 4000),
 'cifar_ae_lr': (1e-06, 0.1),
 'cifar_ae_batch_size': (1, 10000),
 'cifar_ae_latent_dim': (1, 3072),
 'cifar_ae_width': (1, 640),
 'imagenet_train_per_class': (0, 3000),
 'imagenet_ae_epochs': (1, 3250),
 'imagenet_ae_lr': (1.0000000000000001e-07, 0.1),
 'imagenet_ae_batch_size': (1, 320),
 'imagenet_ae_latent_dim': (1, 35840),
 'imagenet_ae_width': (1, 640),
 'seed': (0, 10000)}

# what each knob means (one line, with its units): shown beside the values where the shared models' knobs are listed
DOCS = {
    "mnist_train_size": "MNIST training digits the shared classifiers and autoencoders train on, seeded subsample "
                        "(0: all: 60,000, or the 5,000 offline digits)",
    "mnist_clf_epochs": "epochs of SGD for the MNIST MLP classifier (784-256-256-10, appendix G.1)",
    "mnist_clf_lr": "learning rate of the MNIST classifier's SGD",
    "mnist_clf_momentum": "momentum of the MNIST classifier's SGD (0: plain SGD, as G.1 states none)",
    "mnist_clf_weight_decay": "weight decay (L2 penalty) of the MNIST classifier's SGD",
    "mnist_clf_batch_size": "images per SGD step of the MNIST classifier",
    "mnist_ae_epochs": "epochs of Adam for the MNIST autoencoder (pixel MSE)",
    "mnist_ae_lr": "learning rate of the MNIST autoencoder's Adam",
    "mnist_ae_batch_size": "images per Adam step of the MNIST autoencoder",
    "mnist_ae_latent_dim": "k, the MNIST autoencoder's code size: the dimension of its tangent spaces (paper: 16)",
    "cifar_train_size": "CIFAR-10 airplane and automobile training images the CIFAR autoencoder trains on, "
                        "seeded subsample (0: all 10,000)",
    "cifar_ae_epochs": "epochs of Adam for the CIFAR-10 conv autoencoder (pixel MSE)",
    "cifar_ae_lr": "learning rate of the CIFAR-10 autoencoder's Adam",
    "cifar_ae_batch_size": "images per Adam step of the CIFAR-10 autoencoder",
    "cifar_ae_latent_dim": "k, the CIFAR-10 autoencoder's code size (paper: 128)",
    "cifar_ae_width": "channels of the CIFAR-10 autoencoder's first conv stage (then 2x and 4x)",
    "imagenet_train_per_class": "ImageNet training images per class (goldfish, great white shark) for the ImageNet "
                                "autoencoder (0: all, about 1,300)",
    "imagenet_ae_epochs": "epochs of Adam for the ImageNet conv autoencoder",
    "imagenet_ae_lr": "learning rate of the ImageNet autoencoder's Adam",
    "imagenet_ae_batch_size": "images per Adam step of the ImageNet autoencoder",
    "imagenet_ae_latent_dim": "k, the ImageNet autoencoder's code size (paper: 3584)",
    "imagenet_ae_width": "channels of the ImageNet autoencoder's first conv stage (x 1, 2, 4, 8, 8 down to 7 x 7; "
                         "64 ends in VGG16's 512)",
    "seed": "default seed of a shared model: its initialisation, batch order and training subsample "
            "(chapters ask for seeds 0, 1, ... explicitly)",
}
