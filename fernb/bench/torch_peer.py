#!/usr/bin/env python3
"""PyTorch peer of `fernb bench`: the same network, batch, input and thread
count, timed the same way, printed as the same JSON line.

Run with Debian's python3-torch (apt-get install python3-torch):

    /usr/bin/python3 fernb/bench/torch_peer.py --model fer-cnn --input 48x48x1 \
        --batch 64 --steps 20 --threads 2

The networks mirror fernb/models layer for layer (conv without bias before
batch norm, BN momentum 0.1 in PyTorch's convention = 0.9 in fernb's, max
pools with floor rounding, He-normal init), so the parameter and FLOP counts
printed here must equal the Go side's; `fernb bench --vs-torch` checks that.
Training is SGD with momentum 0.9 on softmax cross-entropy; inference runs
in eval mode under torch.no_grad().
"""

import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled(c, mult):
    return max(1, int(round(c * mult)))


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
        )


class FERCNN(nn.Module):
    def __init__(self, h, w, c, classes, mult):
        super().__init__()
        layers, cin = [], c
        for ch in (32, 64, 128):
            ch = scaled(ch, mult)
            layers += [ConvBN(cin, ch, 3, 1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)]
            cin, h, w = ch, h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(cin * h * w, scaled(256, mult))
        self.fc2 = nn.Linear(scaled(256, mult), classes)

    def forward(self, x):
        f = F.relu(self.fc1(torch.flatten(self.features(x), 1)))
        return self.fc2(f), f


class VGG16(nn.Module):
    def __init__(self, h, w, c, classes, mult):
        super().__init__()
        layers, cin = [], c
        for blk in ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)):
            for ch in blk:
                ch = scaled(ch, mult)
                layers += [ConvBN(cin, ch, 3, 1), nn.ReLU(inplace=True)]
                cin = ch
            layers.append(nn.MaxPool2d(2, 2))
            h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        fc = scaled(4096, mult)
        self.fc6 = nn.Linear(cin * h * w, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc8 = nn.Linear(fc, classes)

    def forward(self, x):
        f = torch.flatten(self.features(x), 1)
        f = F.relu(self.fc7(F.relu(self.fc6(f))))
        return self.fc8(f), f


class BasicBlock(nn.Module):
    def __init__(self, cin, ch, stride):
        super().__init__()
        self.c1 = ConvBN(cin, ch, 3, stride)
        self.c2 = ConvBN(ch, ch, 3, 1)
        self.down = ConvBN(cin, ch, 1, stride) if stride != 1 or cin != ch else None

    def forward(self, x):
        y = self.c2(F.relu(self.c1(x)))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet(nn.Module):
    def __init__(self, h, w, c, classes, mult, stages):
        super().__init__()
        w0 = scaled(64, mult)
        if min(h, w) >= 112:
            self.stem = nn.Sequential(ConvBN(c, w0, 7, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1))
        else:
            self.stem = nn.Sequential(ConvBN(c, w0, 3, 1), nn.ReLU(inplace=True))
        blocks, cin = [], w0
        for s, n in enumerate(stages):
            ch = scaled(64 << s, mult)
            for i in range(n):
                blocks.append(BasicBlock(cin, ch, 2 if s > 0 and i == 0 else 1))
                cin = ch
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        f = self.blocks(self.stem(x)).mean(dim=(2, 3))
        return self.fc(f), f


def build(name, h, w, c, classes, mult):
    if name == "fer-cnn":
        return FERCNN(h, w, c, classes, mult)
    if name == "vgg-face":
        return VGG16(h, w, c, classes, mult)
    if name == "resnet18":
        return ResNet(h, w, c, classes, mult, (2, 2, 2, 2))
    if name == "resnet34":
        return ResNet(h, w, c, classes, mult, (3, 4, 6, 3))
    raise SystemExit(f"torch_peer: unknown model {name!r}")


def count_flops(net, x):
    """2 x multiply-adds of every Conv2d and Linear, from hooks on one forward."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2 * out.numel() // out.shape[0] * k

    def lin_hook(m, inp, out):
        total[0] += 2 * m.in_features * m.out_features

    hooks = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        net.eval()
        net(x[:1])
    for hk in hooks:
        hk.remove()
    return total[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fer-cnn")
    ap.add_argument("--input", default="48x48x1")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count-only", action="store_true",
                    help="print parameter and FLOP counts without timing (architecture cross-check)")
    ap.add_argument("--configs", default="",
                    help="with --count-only: JSON list of {name,height,width,channels,num_classes,width_mult}, one line each")
    a = ap.parse_args()

    if a.count_only and a.configs:
        torch.set_num_threads(1)
        for cfg in json.loads(a.configs):
            h, w, c = cfg["height"], cfg["width"], cfg["channels"]
            net = build(cfg["name"], h, w, c, cfg["num_classes"], cfg.get("width_mult") or 1.0)
            params = sum(p.numel() for p in net.parameters() if p.requires_grad)
            flops = count_flops(net, torch.rand(1, c, h, w))
            json.dump({"framework": "pytorch", "version": torch.__version__, "model": cfg["name"],
                       "input": f"{h}x{w}x{c}", "params": params, "flops_per_image": flops}, sys.stdout)
            sys.stdout.write("\n")
        return

    dims = [int(v) for v in a.input.lower().split("x")]
    h, w, c = (dims + [1])[:3] if len(dims) == 2 else (dims * 2 + [1])[:3] if len(dims) == 1 else dims
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)

    net = build(a.model, h, w, c, a.classes, a.width)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    x = torch.rand(a.batch, c, h, w)
    y = torch.randint(0, a.classes, (a.batch,))
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    flops = count_flops(net, x)

    if a.count_only:
        json.dump({"framework": "pytorch", "version": torch.__version__, "model": a.model,
                   "input": f"{h}x{w}x{c}", "params": params, "flops_per_image": flops}, sys.stdout)
        sys.stdout.write("\n")
        return

    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    def train_step():
        opt.zero_grad(set_to_none=True)
        logits, _ = net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    for _ in range(a.warmup):
        train_step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        train_step()
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0

    net.eval()
    with torch.no_grad():
        for _ in range(a.warmup):
            net(x)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.steps):
            logits, feats = net(x)
            logits.sum().item()
        infer_s, infer_cpu = time.perf_counter() - t0, time.process_time() - c0

    train_ips = a.batch * a.steps / train_s
    infer_ips = a.batch * a.steps / infer_s
    out = {
        "framework": "pytorch",
        "version": torch.__version__,
        "model": a.model,
        "input": f"{h}x{w}x{c}",
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "steps": a.steps,
        "warmup": a.warmup,
        "params": params,
        "flops_per_image": flops,
        "train_images_per_s": round(train_ips, 2),
        "infer_images_per_s": round(infer_ips, 2),
        "train_gflops": round(3 * flops * train_ips / 1e9, 3),
        "infer_gflops": round(flops * infer_ips / 1e9, 3),
        "train_step_ms": round(1000 * train_s / a.steps, 2),
        "infer_batch_ms": round(1000 * infer_s / a.steps, 2),
        "train_images_per_cpu_s": round(a.batch * a.steps / train_cpu, 2),
        "infer_images_per_cpu_s": round(a.batch * a.steps / infer_cpu, 2),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
