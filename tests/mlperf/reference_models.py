"""
reference_models.py - PyTorch classes that examples mirror by name.

Each class is written here after a published one, with the same module
attributes built in the same order, so that its state_dict() carries the
names the published class gives its tensors:

  Resnet8v1EEMBC     MLPerf Tiny's ResNet-8, mlcommons/tiny
                     benchmark/training_torch/image_classification/utils/model.py
                     -> examples/mlperf-tiny/resnet8.net
  MobileNetV2Tiny    torchvision.models.MobileNetV2's layout (features.N with
                     Conv2dNormActivation and InvertedResidual.conv, classifier)
                     at tiny widths -> examples/mobilenet_v2_tiny.net
  SqueezeNetTiny     torchvision.models.SqueezeNet 1.1's layout (features,
                     Fire.squeeze/expand1x1/expand3x3, classifier) at a quarter
                     of its widths -> examples/squeezenet_tiny.net
  SETiny             a small CNN with torchvision.ops.SqueezeExcitation blocks
                     (avgpool, fc1, activation, fc2, scale_activation)
                     -> examples/se_tiny.net

MODELS maps an example to (class, input shape, parameter count).
"""

import torch
from torch import nn
from torch.nn import functional as F


# --- MLPerf Tiny ResNet-8 ----------------------------------------------------

class ResNetBlock(nn.Module):
    """Two 3x3 convolutions with batchnorm (`block`) plus a shortcut
    (`residual`: the input itself, or a strided 1x1 convolution when the
    channels change), then relu."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                      padding=1, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm2d(out_channels),
        )
        if in_channels == out_channels:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Conv2d(in_channels, out_channels, kernel_size=1,
                                      stride=stride)

    def forward(self, inputs):
        return F.relu(self.block(inputs) + self.residual(inputs))


class Resnet8v1EEMBC(nn.Module):
    """ResNet-8 for 3x32x32 images and 10 classes, as MLPerf Tiny defines it."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        self.first_stack = ResNetBlock(16, 16, stride=1)
        self.second_stack = ResNetBlock(16, 32, stride=2)
        self.third_stack = ResNetBlock(32, 64, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, 10)

    def forward(self, inputs):
        x = self.stem(inputs)
        x = self.first_stack(x)
        x = self.second_stack(x)
        x = self.third_stack(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# --- MobileNetV2, torchvision's layout -----------------------------------------

class ConvBNReLU(nn.Sequential):
    """torchvision's Conv2dNormActivation with ReLU6: children 0, 1, 2."""

    def __init__(self, cin, cout, kernel=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (1x1, unless t == 1), depthwise 3x3, project (1x1, linear);
    the input added back when stride is 1 and the channels stay."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers.append(ConvBNReLU(cin, hidden, kernel=1))
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Tiny(nn.Module):
    # (cin, cout, stride, t) of each inverted residual block
    SETTING = [(8, 8, 1, 1), (8, 16, 2, 6), (16, 16, 1, 6), (16, 24, 2, 6),
               (24, 24, 1, 6), (24, 32, 1, 6)]

    def __init__(self, num_classes=10):
        super().__init__()
        layers = [ConvBNReLU(3, 8, stride=2)]
        layers += [InvertedResidual(*s) for s in self.SETTING]
        layers.append(ConvBNReLU(32, 128, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --- SqueezeNet 1.1, torchvision's layout --------------------------------------

class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand1x1, expand3x3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNetTiny(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(16, 4, 16, 16),
            Fire(32, 4, 16, 16),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(32, 8, 32, 32),
            Fire(64, 8, 32, 32),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 12, 48, 48),
            Fire(96, 12, 48, 48),
            Fire(96, 16, 64, 64),
            Fire(128, 16, 64, 64),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Conv2d(128, num_classes, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


# example (path under examples/) -> (class, input shape, parameters)
MODELS = {
    "mlperf-tiny/resnet8.net": (Resnet8v1EEMBC, (3, 32, 32), 78186),
    "mobilenet_v2_tiny.net": (MobileNetV2Tiny, (3, 32, 32), 36170),
    "squeezenet_tiny.net": (SqueezeNetTiny, (3, 64, 64), 47322),
}


# --- squeeze-and-excitation, torchvision.ops.SqueezeExcitation's layout -------

class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class SETiny(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.se1 = SqueezeExcitation(16, 4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.se2 = SqueezeExcitation(32, 8)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.se3 = SqueezeExcitation(64, 16)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.max_pool2d(self.se1(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.se2(F.relu(self.bn2(self.conv2(x)))), 2)
        x = self.se3(F.relu(self.bn3(self.conv3(x))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


MODELS["se_tiny.net"] = (SETiny, (3, 32, 32), 27174)
