import subprocess
import sys


def test_core_imports_no_torch_or_pybullet() -> None:
    code = (
        "import sys, grasplab.core; "
        "bad = [m for m in ('torch', 'pybullet', 'trimesh', 'matplotlib') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
