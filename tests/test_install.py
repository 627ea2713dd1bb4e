"""The package installs non-editably and imports from that install, not from the source tree."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_non_editable_install_imports_from_site_packages(tmp_path):
    target = tmp_path / "site-packages"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert (target / "parapolicy" / "envs" / "assets").is_dir()
    assert not (target / "parapolicy" / "__init__.py").exists()  # a namespace, not a package
    code = (
        "import parapolicy.envs, parapolicy.scripts, parapolicy.policies, parapolicy.planners;"
        "import parapolicy.scripts.common;"
        "print(parapolicy.envs.__file__); print(parapolicy.scripts.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    files = run.stdout.split()
    assert all(f.startswith(str(target)) for f in files), files
