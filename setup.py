"""Install mmssd: ``pip install -e .`` (see README for the full install command)."""
from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name: str) -> list[str]:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = (Path(__file__).parent / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


def loosen(requirement: str) -> str:
    """Turn the pinned torch/torchvision pair into a lower bound for library installs."""
    return requirement.replace('==', '>=') if requirement.startswith('torch') else requirement


setup(
    name='mmssd',
    version=(Path(__file__).parent / 'mmssd' / 'version.py').read_text().split("'")[1],
    description='SSD object detection in the mmdetection 2.x config vocabulary, on mmengine',
    long_description=(Path(__file__).parent / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.10',
    install_requires=[loosen(r) for r in read_requirements('runtime')],
    extras_require={'tests': read_requirements('tests'), 'optional': read_requirements('optional')},
    zip_safe=False,
)
