"""The training options' help on the new-task page, in the page's language.

The library words each option's help in English for the command line (train/config.py option(help=...),
with --flags); the page shows the options by name, so its help is kept here, keyed by option NAME, as
catalog messages. tests/server/web/test_web_option_texts.py fails when an option a task may set has
no entry, so a new library option cannot stay untranslated on the page.
"""

from __future__ import annotations

from classmill.server.web.flash import N_

OPTION_HELP: dict[str, str] = {
    "val": N_("Validation fraction, used when the data has no split of its own."),
    "test": N_("Test fraction, used when the data has no split of its own."),
    "seed": N_("Seed of the split, sample order, augmentation and initialisation."),
    "skip_invalid": N_("Train on the usable images even if some files fail the checks."),
    "cache_images": N_("Decode each image once per run (uint8, a little above training size)."),
    "cache_max_mb": N_("Largest image cache in MB; the images beyond it are decoded each time they are drawn."),
    "model": N_("efficientnet_lite0|1|2 (offline weights) or any timm name."),
    "pretrained": N_("Start from pretrained (ImageNet) weights."),
    "allow_download": N_("Download pretrained weights that are not on this machine "
                         "(needs network; efficientnet_lite0|1|2 never need it)."),
    "image_size": N_("Training and inference input size in pixels; empty = chosen from the training images' sizes "
                     "within the preset's range."),
    "drop_rate": N_("Dropout before the classifier; empty = the model's own."),
    "freeze": N_("Which weights stay fixed: none, the backbone, or the backbone for the first "
                 "progressive_epochs."),
    "progressive_epochs": N_("With freeze = progressive: head-only epochs before unfreezing."),
    "bn_adapt": N_("Before the head warm-up, re-estimate BatchNorm statistics on up to this many training "
                   "images; 0 = off."),
    "freeze_stages": N_("Keep the stem and the first N stages of the backbone fixed while fine-tuning "
                        "(weights and BatchNorm statistics); 0 = none."),
    "freeze_bn": N_("Keep BatchNorm's running statistics during fine-tuning."),
    "epochs": N_("Epochs of fine-tuning (0 only with a head warm-up: a linear probe)."),
    "batch_size": N_("Images per optimisation step."),
    "lr": N_("Peak learning rate of the new head."),
    "backbone_lr_scale": N_("Backbone learning rate = lr * this."),
    "weight_decay": N_("Weight decay."),
    "optimizer": N_("Optimiser."),
    "scheduler": N_("Learning-rate decay after the warm-up."),
    "warmup_epochs": N_("Epochs of linear learning-rate warm-up."),
    "head_warmup_steps": N_("Fit the new head on cached backbone features first (a linear probe) for this "
                            "many steps; 0 = off."),
    "head_lr": N_("Learning rate of the head warm-up."),
    "head_start": N_("After a head warm-up, fine-tune from the probed head or from a fresh one; auto = the probed "
                     "head when its validation top-1 is at least 0.95 (the features suit the data), else a fresh "
                     "one (they must move). The probed head stays a candidate for the best checkpoint either way."),
    "refine_lr": N_("Peak learning rate of every layer when the fine-tune starts from the probed head; empty = lr, "
                    "and the backbone's lr x backbone_lr_scale."),
    "early_stop": N_("Stop after this many epochs without improvement; 0 = off."),
    "select_metric": N_("Validation metric that picks the best checkpoint."),
    "checkpoint_minutes": N_("Also save a checkpoint inside an epoch this often, so a crash loses minutes, "
                             "not the epoch; 0 = only at epoch ends."),
    "loss": N_("Cross-entropy or focal loss."),
    "label_smoothing": N_("Label smoothing."),
    "focal_gamma": N_("Focusing parameter of the focal loss."),
    "class_balance": N_("Counter class imbalance by loss weights or by sampling; auto = loss weights when the "
                        "largest class has 3 times the images of the smallest."),
    "augment": N_("Training augmentation."),
    "mixup": N_("Mixup alpha (Beta(alpha, alpha) mixing); 0 = off."),
    "ema": N_("Validate and export an exponential moving average of the weights."),
    "ema_decay": N_("Decay of ema."),
    "device": N_("Where to train; auto = a CUDA GPU when there is one."),
    "amp": N_("Mixed precision; auto = on for CUDA (bf16 where supported)."),
    "workers": N_("Threads (loader = threads) or worker processes (loader = processes) decoding and augmenting "
                  "images."),
    "loader": N_("How training batches are made: on threads, or in worker processes (pinned memory on CUDA); "
                 "auto = processes on CUDA, threads on a CPU, where worker processes take cores from training (2.5x "
                 "slower on 2 cores when images are decoded each epoch)."),
    "channels_last": N_("Channels-last memory format: faster convolutions on CPU (oneDNN) and GPU alike."),
}
