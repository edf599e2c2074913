"""Draw the book's schematic figures: boxes, arrows and text, written as SVG.

    python scripts/draw_figures.py            # (re)write chapters/img/*.svg
    python scripts/draw_figures.py --check    # compare with the committed files, byte for byte

One colour per role in every figure: data (green), generator (blue), discriminator
(orange), latent code and Q (purple), loss (red); inputs such as noise are grey.
Solid arrows carry values forward; dashed red arrows are gradients. The output is
deterministic (a fixed hash salt, no date, glyphs stored as paths, so no font is
needed to show it): rerunning the script reproduces the committed files exactly.
"""

import argparse
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "chapters" / "img"

# fill, edge
ROLES = {
    "data": ("#e2f0d9", "#548235"),
    "noise": ("#ededed", "#7f7f7f"),
    "generator": ("#ddebf7", "#2e75b6"),
    "discriminator": ("#fbe5d6", "#c55a11"),
    "code": ("#e7e0f3", "#7030a0"),
    "loss": ("#fbe1e1", "#c00000"),
    "op": ("#ffffff", "#595959"),
}
INK = "#262626"
GRAD = "#c00000"

STYLE = {
    "svg.fonttype": "path",        # glyphs as paths: no font needed to show the file
    "svg.hashsalt": "gan-edu",     # stable ids, so that reruns give identical files
    "font.family": "DejaVu Sans",  # shipped with matplotlib
    "mathtext.fontset": "dejavusans",
    "font.size": 9.5,
    "path.simplify": False,
}


class Canvas:
    """A figure of `w` x `h` inches whose data coordinates are inches."""

    def __init__(self, w, h):
        self.fig = plt.figure(figsize=(w, h))
        self.ax = self.fig.add_axes([0, 0, 1, 1])
        self.ax.set_xlim(0, w)
        self.ax.set_ylim(0, h)
        self.ax.set_axis_off()

    def box(self, x, y, w, h, text, role, size=None, bold=False, dashed=False):
        """A rounded box with its lower left corner at (x, y); returns its anchors."""
        fill, edge = ROLES[role]
        self.ax.add_patch(FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0,rounding_size=0.06", facecolor=fill,
            edgecolor=edge, linewidth=1.1, linestyle=(0, (3, 2)) if dashed else "-"))
        if text:
            self.text(x + w / 2, y + h / 2, text, size=size, bold=bold)
        return Box(x, y, w, h)

    def circle(self, x, y, text, r=0.13):
        """A small operator node (+, x, join) centred at (x, y)."""
        self.ax.add_patch(plt.Circle((x, y), r, facecolor="white",
                                     edgecolor=ROLES["op"][1], linewidth=1.1))
        self.text(x, y, text, size=10)
        return Box(x - r, y - r, 2 * r, 2 * r)

    def text(self, x, y, text, size=None, bold=False, color=INK, ha="center",
             va="center", style="normal"):
        self.ax.text(x, y, text, ha=ha, va=va, fontsize=size or STYLE["font.size"],
                     color=color, fontweight="bold" if bold else "normal",
                     linespacing=1.25, fontstyle=style)

    def arrow(self, start, end, grad=False, rad=0.0, color=None, lw=1.1):
        """An arrow from `start` to `end`; dashed and red for a gradient."""
        self.ax.add_patch(FancyArrowPatch(
            start, end, arrowstyle="-|>,head_length=5,head_width=2.6",
            connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0,
            color=color or (GRAD if grad else INK), linewidth=lw,
            linestyle=(0, (4, 2.5)) if grad else "-"))

    def path(self, points, grad=False, color=None, arrow=True):
        """A polyline through `points`, with an arrow head at the end."""
        *lines, (a, b) = list(zip(points[:-1], points[1:]))
        colour = color or (GRAD if grad else INK)
        for p, q in lines:
            self.ax.plot([p[0], q[0]], [p[1], q[1]], color=colour, linewidth=1.1,
                         linestyle=(0, (4, 2.5)) if grad else "-", solid_capstyle="butt")
        if arrow:
            self.arrow(a, b, grad=grad, color=color)
        else:
            self.ax.plot([a[0], b[0]], [a[1], b[1]], color=colour, linewidth=1.1,
                         linestyle=(0, (4, 2.5)) if grad else "-")

    def legend(self, x, y, items, size=8):
        """Role swatches in a row starting at (x, y): items are (role, label)."""
        for role, label in items:
            if role == "forward" or role == "gradient":
                self.arrow((x, y), (x + 0.32, y), grad=role == "gradient")
                x += 0.4
            else:
                fill, edge = ROLES[role]
                self.ax.add_patch(FancyBboxPatch(
                    (x, y - 0.06), 0.2, 0.12, boxstyle="round,pad=0,rounding_size=0.03",
                    facecolor=fill, edgecolor=edge, linewidth=1))
                x += 0.27
            self.text(x, y, label, size=size, ha="left")
            x += 0.075 * size / 8 * len(label) + 0.22

    def svg(self):
        out = io.StringIO()
        self.fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(self.fig)
        return out.getvalue()


class Box:
    def __init__(self, x, y, w, h):
        self.x, self.y, self.w, self.h = x, y, w, h

    @property
    def left(self):
        return (self.x, self.y + self.h / 2)

    @property
    def right(self):
        return (self.x + self.w, self.y + self.h / 2)

    @property
    def top(self):
        return (self.x + self.w / 2, self.y + self.h)

    @property
    def bottom(self):
        return (self.x + self.w / 2, self.y)

    def at(self, fx, fy):
        """The point at fractions (fx, fy) of the box's width and height."""
        return (self.x + fx * self.w, self.y + fy * self.h)


def gan_game():
    """Chapter 1: G turns noise into fakes, D scores real and fake, two losses."""
    c = Canvas(7.0, 3.45)
    real = c.box(0.15, 2.2, 1.55, 0.62, "real example $\\mathbf{x}$\nfrom the data", "data")
    z = c.box(0.15, 0.55, 1.05, 0.62, "noise $\\mathbf{z}$\n$\\sim p(\\mathbf{z})$", "noise")
    g = c.box(1.55, 0.55, 0.7, 0.62, "$G$", "generator", size=13, bold=True)
    fake = c.box(2.6, 0.55, 1.15, 0.62, "fake example\n$G(\\mathbf{z})$", "generator")
    d = c.box(4.05, 1.15, 0.7, 1.05, "$D$", "discriminator", size=13, bold=True)
    c.arrow(z.right, g.left)
    c.arrow(g.right, fake.left)
    c.path([real.right, (3.85, real.right[1]), (3.85, d.at(0, 0.75)[1]), d.at(0, 0.75)])
    c.path([fake.right, (3.85, fake.right[1]), (3.85, d.at(0, 0.25)[1]), d.at(0, 0.25)])
    c.text(d.x + d.w / 2, d.y - 0.22, "$D(\\cdot) \\in (0, 1)$:\nprobability of real",
           size=8, va="top")
    loss_d = c.box(5.15, 2.05, 1.75, 0.95,
                   "$D$'s loss: real → 1, fake → 0\n"
                   "$-\\log D(\\mathbf{x})$\n$-\\log(1 - D(G(\\mathbf{z})))$", "loss", size=8.5)
    loss_g = c.box(5.15, 0.3, 1.75, 0.8,
                   "$G$'s loss: fake → 1\n$-\\log D(G(\\mathbf{z}))$", "loss", size=8.5)
    c.path([d.at(1, 0.7), (4.95, d.at(1, 0.7)[1]), (4.95, loss_d.at(0, 0.5)[1]),
            loss_d.at(0, 0.5)])
    c.path([d.at(1, 0.3), (4.95, d.at(1, 0.3)[1]), (4.95, loss_g.at(0, 0.5)[1]),
            loss_g.at(0, 0.5)])
    # Gradients: D's loss updates D; G's loss flows back through D (kept fixed) into G.
    c.path([loss_d.top, (loss_d.top[0], 3.15), (d.top[0], 3.15), d.top], grad=True)
    c.text(5.0, 3.15, "updates $D$", size=8, color=GRAD, va="bottom")
    c.path([loss_g.bottom, (loss_g.bottom[0], 0.12), (g.bottom[0], 0.12), g.bottom],
           grad=True)
    c.text(3.55, 0.12, "updates $G$, back through $D$ (which stays fixed)", size=8, color=GRAD,
           va="bottom")
    c.legend(0.15, 3.1, [("forward", "forward"), ("gradient", "gradient")])
    return c.svg()


def conditional_gan():
    """Chapter 4: y joined to z at G's input; D is a projection discriminator."""
    c = Canvas(7.0, 3.9)
    # The generator, top row.
    c.text(0.12, 3.72, "generator $G(\\mathbf{z}, \\mathbf{y})$", size=9, ha="left",
           bold=True, color=ROLES["generator"][1])
    z = c.box(0.15, 2.95, 1.35, 0.42, "noise $\\mathbf{z}$: 100", "noise", size=8.5)
    y = c.box(0.15, 2.4, 1.35, 0.42, "label $\\mathbf{y}$: one-hot 10", "data", size=8)
    join = c.circle(1.85, 2.885, "⊕")
    c.text(1.85, 3.05, "110", size=8, va="bottom")
    g = c.box(2.25, 2.55, 3.15, 0.67,
              "dense → 64×7×7 → transposed conv 32×14×14\n→ transposed conv, tanh",
              "generator", size=8.5)
    out = c.box(5.75, 2.625, 1.1, 0.52, "image\n1×28×28", "generator", size=8.5)
    c.arrow(z.right, join.at(0.15, 0.85))
    c.arrow(y.right, join.at(0.15, 0.15))
    c.arrow(join.right, g.at(0, 0.5))
    c.arrow(g.right, out.left)
    # Generated images are judged with the label they were made for.
    c.path([out.bottom, (out.bottom[0], 2.22), (0.8, 2.22), (0.8, 1.52)], color="#7f7f7f")
    c.text(3.6, 2.16, "real $(\\mathbf{x}, \\mathbf{y})$ → 1;   generated "
           "$(G(\\mathbf{z}, \\mathbf{y}), \\mathbf{y})$ and wrong label "
           "$(\\mathbf{x}, \\tilde{\\mathbf{y}})$ → 0", size=8, va="top", color="#404040")
    # The discriminator, bottom row.
    c.text(0.12, 1.82, "discriminator $D(\\mathbf{x}, \\mathbf{y})$ with a projection",
           size=9, ha="left", bold=True, color=ROLES["discriminator"][1])
    x = c.box(0.15, 1.0, 1.3, 0.52, "image $\\mathbf{x}$\n1×28×28", "data", size=8.5)
    y2 = c.box(0.15, 0.2, 1.3, 0.42, "label $\\mathbf{y}$", "data", size=8.5)
    body = c.box(1.7, 0.98, 1.5, 0.56, "body $\\phi$: conv 4×4/2\n→ conv 4×4/2, BN",
                 "discriminator", size=8.5)
    phi = c.box(3.45, 1.05, 1.0, 0.42, "$\\phi(\\mathbf{x})$: 3,136", "discriminator",
                size=8.5)
    psi = c.box(4.7, 1.05, 0.85, 0.42, "dense $\\psi$", "discriminator", size=8.5)
    emb = c.box(1.7, 0.2, 1.5, 0.42, "embedding $\\mathbf{v}_y = V^\\top\\mathbf{y}$",
                "discriminator", size=8.5)
    dot = c.circle(phi.bottom[0], 0.41, "·")
    c.text(4.12, 0.62, "$\\mathbf{v}_y^\\top \\phi(\\mathbf{x})$", size=8.5, ha="left")
    plus = c.circle(5.88, 0.78, "+")
    sig = c.box(6.2, 0.58, 0.68, 0.4, "$\\sigma$ → $D$", "discriminator", size=8.5)
    c.arrow(x.right, body.left)
    c.arrow(body.right, phi.left)
    c.arrow(phi.right, psi.left)
    c.arrow(phi.bottom, dot.top)
    c.arrow(y2.right, emb.left)
    c.arrow(emb.right, dot.left)
    c.path([psi.right, (plus.top[0], psi.right[1]), plus.top])
    c.path([dot.right, (plus.bottom[0], dot.right[1]), plus.bottom])
    c.arrow(plus.right, sig.left)
    return c.svg()


def infogan():
    """Chapter 5: G reads z and the codes; D and Q share the body; Q's heads read c."""
    c = Canvas(7.0, 3.75)
    code = ROLES["code"][1]
    c1 = c.box(0.15, 2.8, 1.2, 0.4, "$c_1$: one-hot 10", "code", size=8.5)
    c23 = c.box(0.15, 2.3, 1.2, 0.4, "$c_2, c_3 \\sim \\mathcal{U}(-1, 1)$", "code",
                size=8.5)
    c.box(0.07, 2.22, 1.36, 1.06, "", "code", dashed=True)   # the code c
    z = c.box(0.15, 1.7, 1.2, 0.4, "noise $\\mathbf{z}$: 62", "noise", size=8.5)
    join = c.circle(1.7, 2.5, "⊕")
    c.text(1.7, 2.66, "74", size=8, va="bottom")
    g = c.box(2.0, 1.95, 1.2, 1.1, "$G$\ndense, dense\n→ 7×7 → 14×14\n→ 28×28",
              "generator", size=8.5)
    c.arrow(c1.right, join.at(0.1, 0.8))
    c.arrow(c23.right, join.left)
    c.arrow(z.right, join.at(0.1, 0.2))
    c.arrow(join.right, g.at(0, 0.5))
    fake = c.box(2.0, 1.05, 1.2, 0.5, "fake $G(\\mathbf{z}, \\mathbf{c})$", "generator",
                 size=8.5)
    real = c.box(2.0, 0.25, 1.2, 0.5, "real $\\mathbf{x}$", "data", size=8.5)
    c.arrow(g.bottom, fake.top)
    body = c.box(3.5, 0.3, 1.2, 1.8, "shared body\n\nconv → 14×14\nconv → 7×7\ndense",
                 "discriminator", size=8.5)
    c.arrow(fake.right, body.at(0, 0.72))
    c.arrow(real.right, body.at(0, 0.25))
    dhead = c.box(5.0, 1.5, 0.78, 0.6, "$D$ head\n1 logit", "discriminator", size=8.5)
    qhead = c.box(5.0, 0.3, 0.78, 0.85, "$Q$ head\ndense 128\n→ 12", "code", size=8.5)
    c.arrow(body.at(1, 0.83), dhead.left)
    c.arrow(body.at(1, 0.24), qhead.left)
    c.text(5.39, 0.24, "10 logits + 2 means", size=7.5, va="top")
    loss_d = c.box(6.0, 1.45, 0.82, 0.7, "real or\nfake?\n$D$'s loss", "loss", size=8.5)
    loss_i = c.box(6.0, 0.2, 0.82, 1.05,
                   "$L_I$:\ncross-\nentropy $c_1$\n+ squared\nerror $c_{2,3}$", "loss",
                   size=8)
    c.arrow(dhead.right, loss_d.left)
    c.arrow(qhead.right, loss_i.left)
    # The codes G was given are the targets Q must read back.
    c.path([(0.75, 3.28), (0.75, 3.5), (6.94, 3.5), (6.94, loss_i.right[1]),
            loss_i.right], color=code)
    c.text(3.3, 3.53, "the code $\\mathbf{c}$ fed to $G$ is the target that $Q$ reads back",
           size=8, color=code, va="bottom")
    return c.svg()


def cycle_gan():
    """Chapter 6: the two cycles, each with the discriminator of the middle domain."""
    c = Canvas(7.0, 3.95)
    for row, (src, dst, g1, g2, dis, dom) in enumerate([
            ("a", "b", "AB", "BA", "B", "MNIST"), ("b", "a", "BA", "AB", "A", "UCI")]):
        y0 = 2.6 - 1.98 * row        # the row's boxes sit at y0 .. y0 + 0.5
        name = "UCI digit" if src == "a" else "MNIST digit"
        start = c.box(0.1, y0, 1.05, 0.5, f"{name}\n${src}$", "data", size=8.5)
        first = c.box(1.45, y0, 0.62, 0.5, f"$G_{{{g1}}}$", "generator", size=10.5)
        mid = c.box(2.37, y0, 1.05, 0.5, f"$G_{{{g1}}}({src})$", "generator", size=8.5)
        second = c.box(3.72, y0, 0.62, 0.5, f"$G_{{{g2}}}$", "generator", size=10.5)
        back = c.box(4.64, y0, 1.35, 0.5, f"$G_{{{g2}}}(G_{{{g1}}}({src}))$", "generator",
                     size=8.5)
        c.arrow(start.right, first.left)
        c.arrow(first.right, mid.left)
        c.arrow(mid.right, second.left)
        c.arrow(second.right, back.left)
        c.text(back.right[0] + 0.1, back.right[1], f"≈ ${src}$", size=10, ha="left")
        # The cycle loss compares the round trip with the start.
        cyc_y = y0 - 0.4
        loss = c.box(2.1, cyc_y - 0.17, 2.5, 0.34,
                     f"cycle loss $\\|G_{{{g2}}}(G_{{{g1}}}({src})) - {src}\\|_1$", "loss",
                     size=8.5)
        c.path([start.bottom, (start.bottom[0], cyc_y), loss.left], color=GRAD)
        c.path([back.bottom, (back.bottom[0], cyc_y), loss.right], color=GRAD)
        # The discriminator of the middle domain judges the translation.
        dbox = c.box(2.37, y0 + 0.8, 1.05, 0.48, f"$D_{dis}$: real ${dst}$?",
                     "discriminator", size=8.5)
        real = c.box(0.1, y0 + 0.8, 1.05, 0.48, f"real {dom}\n${dst}$", "data", size=8.5)
        c.arrow(mid.top, dbox.bottom)
        c.arrow(real.right, dbox.left)
        adv = c.box(3.72, y0 + 0.84, 1.55, 0.4, "adversarial loss", "loss", size=8.5)
        c.arrow(dbox.right, adv.left)
        c.text(6.95, y0 + 1.04, ("forward", "backward")[row] + " cycle", size=9,
               ha="right", bold=True, color=ROLES["generator"][1])
    return c.svg()


FIGURES = {"gan_game.svg": gan_game, "conditional_gan.svg": conditional_gan,
           "infogan.svg": infogan, "cycle_gan.svg": cycle_gan}


def draw():
    """Each figure's name and SVG text."""
    with plt.rc_context():
        plt.rcdefaults()  # a reader's matplotlibrc changes nothing
        plt.rcParams.update(STYLE)
        return {name: make() for name, make in FIGURES.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with chapters/img instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in draw().items():
        path = IMG / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        IMG.mkdir(exist_ok=True)
        path.write_text(text)
        print(f"{path.relative_to(ROOT)}: {len(text.encode()) // 1024} KB")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python scripts/draw_figures.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
