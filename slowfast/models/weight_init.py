"""PySlowFast's weight initialisation: it shapes early training and hence time-to-accuracy."""

from fvcore.nn.weight_init import c2_msra_fill
from torch import nn


def init_cnn_weights(model, fc_init_std, zero_init_final_bn):
    """ResNet-style initialisation used for X3D.

    Convolutions get MSRA (He, fan-out) normal weights and zero bias; BatchNorm weight 1 and bias 0, except
    BatchNorms flagged ``transform_final_bn`` (the last one of each residual branch), whose weight is 0 when
    ``zero_init_final_bn`` so every block starts as the identity; Linear layers get N(0, fc_init_std) weights
    and zero bias.

    Args:
        model (nn.Module): the model, initialised in place.
        fc_init_std (float): standard deviation of the Linear weights.
        zero_init_final_bn (bool): zero the final BatchNorm weight of each residual branch.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            c2_msra_fill(module)
        elif isinstance(module, nn.BatchNorm3d):
            is_final = getattr(module, "transform_final_bn", False)
            module.weight.data.fill_(0.0 if is_final and zero_init_final_bn else 1.0)
            module.bias.data.zero_()
        elif isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=fc_init_std)
            module.bias.data.zero_()


def init_transformer_weights(model, std=0.02):
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
