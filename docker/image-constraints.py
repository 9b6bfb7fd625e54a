"""Print a pip constraints file pinning every distribution installed in this Python.

docker/Dockerfile installs the project's extra packages with ``pip install -c`` this file, so pip
fails instead of moving any package the base image ships (torch, vllm, verl, ...).  Only the
distribution Python would import is pinned (the first on sys.path), and versions pip cannot
parse (e.g. Debian's "1.1build1") are left out rather than breaking the constraints file.
"""
import importlib.metadata
import re
import sys

try:
    from packaging.version import InvalidVersion, Version
except ImportError:  # pip always vendors packaging
    from pip._vendor.packaging.version import InvalidVersion, Version

pins = {}
for dist in importlib.metadata.distributions():  # sys.path order: the importable one first
    name = dist.metadata["Name"]
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in pins:
        continue
    try:
        Version(dist.version)
    except InvalidVersion:
        continue
    pins[key] = f"{name}=={dist.version}"
# --stack FILE (docker/gpu-stack.txt): the packages that file pins may move, so their image pins
# are left out, except the image's own core (IMAGE_CORE), which must already be what FILE says.
IMAGE_CORE = ("torch", "vllm", "verl")
if sys.argv[1:2] == ["--stack"]:
    stack = {}
    for line in open(sys.argv[2]):
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            stack[re.sub(r"[-_.]+", "-", name).lower()] = version
    for key, version in stack.items():
        if key in IMAGE_CORE:
            have = pins.get(key, "").partition("==")[2]
            if have != version:
                sys.exit(f"error: the base image has {key} {have or 'missing'}, {sys.argv[2]} pins {version}")
        else:
            pins.pop(key, None)
print("\n".join(pins[k] for k in sorted(pins)))
