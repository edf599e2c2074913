"""Build a runnable script of shared + one framework's cells of the chapter draft."""
import os, sys, jupytext
sys.path.insert(0, "/work/main")
from gan_edu import book
src, fw, out = sys.argv[1], sys.argv[2], sys.argv[3]
models = os.environ.get("MODELS", "cycle,dual").split(",")
nb = jupytext.read(src)
nb = book.split_by_framework(nb, fw)
cells = []
for c in nb.cells:
    if c.cell_type != "code": continue
    s = "\n".join(l for l in c.source.splitlines() if not l.startswith("%"))
    s = s.replace("#@save", "")
    if 'train_translation("cycle"' in s and "cycle" not in models: continue
    if 'train_translation("dual"' in s and "dual" not in models: continue
    if "show_images(" in s and "images_A[:12]" in s: s = s.replace("show_images(", "(lambda *a, **k: None)(")
    cells.append(s)
    if "dropout = " in s:
        cells.append("import os, time; exec(os.environ.get('HP', '')); _T0 = time.time()")
    if "B2A=translate(G_BA, X_B[:12]))" in s:
        cells.append("""
_k = list(results)[-1]; _r = results[_k]
print(_k, 'acc %.4f fd %.1f score %.2f secs %.0f' % (metrics.label_accuracy(_r['A2B'], labels_A), metrics.frechet_distance(_r['A2B'], reference), metrics.digit_score(_r['A2B']), _r['seconds']), flush=True)
np.save('/tmp/ch6/' + '_'.join(_k) + '.npy', _r['A2B'][:40])
""")
open(out, "w").write("\n\n".join(cells) + "\n")
