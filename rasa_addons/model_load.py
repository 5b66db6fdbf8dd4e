"""Load Rasa's TensorFlow models (DIET, TED) without tracing a training step: a cold-start cut.

`RasaModel.load` creates a model's variables by `model.fit` on one stored example — which traces and runs a
whole training step (a persistent gradient tape, two gradient graphs, the optimizer's update) — and then
overwrites every one of those variables with the saved weights. Only the variables are needed, not the step.

`install_fast_model_load()` replaces that with one eager pass of the model's loss on the same example (the
function the training step wraps, so it creates the same variables), restores the saved weights, checks that
every variable of the model was restored, and then traces the prediction graph as Rasa does. The optimizer's
saved state is not restored (nothing predicts with it). Fine-tuning, `run_eagerly` models and any model whose
check fails take Rasa's own path, the last with a warning naming the model class. The predictions are the same
to the last bit (tests/rasa_addons/test_model_load.py loads our trained model both ways and compares).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Text

logger = logging.getLogger(__name__)

FAST_LOADS = {"fast": 0, "stock": 0}  # how models were loaded in this process (read by tests and the bench)


def _build_and_restore(model: Any, model_file_name: Text, model_data_example: Any) -> None:
    """Create `model`'s variables by one eager loss pass on the example, then restore the saved weights."""
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    batch_in, _ = RasaBatchDataGenerator(model_data_example, batch_size=1, shuffle=False)[0]
    # the loss path, as the training step runs it: it creates the layers only training uses too
    model._training = True
    model.batch_loss(batch_in)
    model._training = None
    status = model.load_weights(model_file_name)
    status.assert_existing_objects_matched()  # every variable the model has now was in the checkpoint
    status.expect_partial()  # the optimizer's slots are saved but not needed to predict


def install_fast_model_load() -> None:
    """Patch `rasa.utils.tensorflow.models.RasaModel.load` (idempotent)."""
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.models import RasaModel

    stock: Callable[..., Any] = RasaModel.load.__func__  # type: ignore[attr-defined]
    if getattr(stock, "shopdesk_fast", False):
        return

    def load(
        cls: Any,
        model_file_name: Text,
        model_data_example: Any,
        predict_data_example: Optional[Any] = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        def rasas_way() -> Any:
            FAST_LOADS["stock"] += 1
            return stock(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )

        config = kwargs.get("config", {})
        if finetune_mode or config.get(RUN_EAGERLY) or predict_data_example is None:
            return rasas_way()
        import tensorflow as tf

        model = cls(*args, **kwargs)
        model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)))
        try:
            _build_and_restore(model, model_file_name, model_data_example)
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            logger.warning("fast load of %s failed (%s); loading it Rasa's way", cls.__name__, exc)
            return rasas_way()
        model.run_inference(predict_data_example)  # trace the prediction graph now, as Rasa does
        FAST_LOADS["fast"] += 1
        return model

    load.shopdesk_fast = True  # type: ignore[attr-defined]
    RasaModel.load = classmethod(load)  # type: ignore[assignment,method-assign]
    logger.debug("Rasa's TensorFlow models load without tracing a training step")
