"""One figure of a dataset check's statistics (:mod:`mmssd.datasets.dataset_check`)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.datasets.dataset_check import DatasetReport

#: COCO's small / medium / large limits on sqrt(box area), in px.
COCO_SIZE_LIMITS = (32, 96)


def plot_dataset_report(reports: Sequence[DatasetReport], out_file: str) -> None:
    """Save a 2x2 figure to ``out_file``: boxes per class, box sizes (with COCO's size
    limits), image sizes and boxes per image; one colour per report (split)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), dpi=100)
    ax_cls, ax_size, ax_img, ax_count = axes.ravel()
    colours = plt.get_cmap('tab10').colors
    names = list(dict.fromkeys(n for r in reports for n in r.class_names))
    bar_width = 0.8 / max(len(reports), 1)
    for i, report in enumerate(reports):
        colour = colours[i % len(colours)]
        counts = dict(zip(report.class_names, report.per_class.tolist(), strict=True))
        ax_cls.bar(np.arange(len(names)) + (i - (len(reports) - 1) / 2) * bar_width,
                   [counts.get(n, 0) for n in names], bar_width, color=colour,
                   label=report.name)
        if len(report.box_sizes):
            top = max(float(report.box_sizes.max()), 2.0)
            bins = np.geomspace(max(float(report.box_sizes.min()), 0.5), top * 1.01, 30)
            ax_size.hist(report.box_sizes, bins=bins, histtype='step', linewidth=1.5,
                         color=colour, label=report.name)
        if len(report.image_sizes):
            ax_img.scatter(report.image_sizes[:, 0], report.image_sizes[:, 1], s=8, alpha=0.5,
                           color=colour, label=report.name)
            most = int(report.boxes_per_image.max(initial=0))
            ax_count.hist(report.boxes_per_image, bins=np.arange(most + 2) - 0.5,
                          histtype='step', linewidth=1.5, color=colour, label=report.name)
    ax_cls.set_xticks(range(len(names)), names, rotation=45 if len(names) > 6 else 0,
                      ha='right' if len(names) > 6 else 'center')
    ax_cls.set_title('boxes per class')
    ax_size.set_xscale('log')
    for limit in COCO_SIZE_LIMITS:
        ax_size.axvline(limit, color='grey', linestyle='--', linewidth=1)
    ax_size.set_title('box size sqrt(w*h), px (COCO small | medium | large)')
    ax_img.set_title('image sizes')
    ax_img.set_xlabel('width, px')
    ax_img.set_ylabel('height, px')
    ax_count.set_title('boxes per image')
    for ax in axes.ravel():
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
