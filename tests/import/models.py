"""
models.py - PyTorch models written as their authors write them, for the
import tests: a torchvision-style ResNet BasicBlock network and a
MobileNetV2-style network of InvertedResidual blocks (both as in
torchvision/models/resnet.py and mobilenetv2.py, smaller), and a network
using functions rather than modules (F.relu, torch.cat, x.view, F.pad,
-F.max_pool2d(-x)).  MODELS maps a name to (factory, input shape).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock: one ReLU module used twice,
    `out += identity`, a downsample Sequential when the shape changes."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    """torchvision.models.resnet.ResNet's structure, two stages, CIFAR stem."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, 2)
        self.layer2 = self._make_layer(32, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class ConvBNReLU(nn.Sequential):
    """torchvision's Conv2dNormActivation with ReLU6: a Sequential of three."""

    def __init__(self, inp, oup, kernel=3, stride=1, groups=1):
        super().__init__(nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """torchvision.models.mobilenetv2.InvertedResidual."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(inp, hidden, kernel=1))
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision.models.mobilenetv2.MobileNetV2's structure, a few blocks."""

    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 1)]
        features = [ConvBNReLU(3, 16, stride=2)]
        cin = 16
        for t, c, n, s in cfg:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(ConvBNReLU(cin, 64, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class Functional(nn.Module):
    """Functions instead of modules: F.relu, F.pad, torch.cat, a min pool
    written -F.max_pool2d(-x), x * gate, x.view(x.size(0), -1), F.softmax."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 4, 3)
        self.b = nn.Conv2d(2, 4, 1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 3 * 3, 5)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(F.pad(x, (1, 1, 1, 1), mode="reflect"))),
                       torch.sigmoid(self.b(x))], dim=1)
        g = torch.sigmoid(self.gate(F.adaptive_avg_pool2d(y, 1)))
        y = y * g
        y = -F.max_pool2d(-y, 2)
        y = F.leaky_relu(y, 0.2)
        y = y.view(y.size(0), -1)
        return F.softmax(self.fc(y), dim=1)


MODELS = {
    "resnet_basicblock": (ResNet, [3, 16, 16]),
    "mobilenetv2_inverted_residual": (MobileNetV2, [3, 32, 32]),
    "functional": (Functional, [2, 6, 6]),
}
