"""PySlowFast's weight initialisation: it shapes early training and hence time-to-accuracy."""

from collections.abc import Collection

from fvcore.nn.weight_init import c2_msra_fill
from torch import nn


def init_cnn_weights(model: nn.Module, *, fc_init_std: float, zero_bns: Collection[nn.Module] = ()) -> None:
    """ResNet-style initialisation used for X3D.

    Convolutions get MSRA (He, fan-out) normal weights and zero bias; BatchNorm weight 1 and bias 0, except
    the BatchNorms in ``zero_bns``, whose weight is 0 (with RESNET.ZERO_INIT_FINAL_BN the last BatchNorm of
    every residual branch, so each block starts as the identity); Linear layers get N(0, fc_init_std) weights
    and zero bias.

    Args:
        model (nn.Module): the model, initialised in place.
        fc_init_std (float): standard deviation of the Linear weights.
        zero_bns (collection of nn.Module): BatchNorms of ``model`` whose weight starts at 0.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            c2_msra_fill(module)
        elif isinstance(module, nn.BatchNorm3d):
            module.weight.data.fill_(0.0 if module in zero_bns else 1.0)
            module.bias.data.zero_()
        elif isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=fc_init_std)
            module.bias.data.zero_()


def init_transformer_weights(model: nn.Module, *, std: float = 0.02) -> None:
    """ViT-style initialisation used for MViT: truncated-normal Linear weights, zero bias, unit LayerNorm.

    Convolutions (patch embedding, attention pooling) keep PyTorch's default initialisation, as in
    PySlowFast. Position embeddings and the class token are initialised by the model itself.

    Args:
        model (nn.Module): the model, initialised in place.
        std (float): standard deviation of the truncated normal (cut at +-2, absolute).
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0.0)
        elif isinstance(module, nn.LayerNorm):
            nn.init.constant_(module.bias, 0.0)
            nn.init.constant_(module.weight, 1.0)
