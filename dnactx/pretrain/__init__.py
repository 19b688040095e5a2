"""``dnactx pretrain``: a masked DNA language model trained on a lab's own genome(s).

corpus.py (windows from both strands, held-out blocks, exclusions), vocab.py (tokenizers saved for AutoTokenizer,
and their vectorised batch encoders), masking.py (span masking that does not leak), model.py (tiny *ForMaskedLM
configs, masked-only scoring), trainer.py (the step loop, evaluation, checkpoints), output.py (the HF folder and
its model card), options.py (the command's options, validated before any work), record.py (the pretrain as a
registry run). Its heap setting (a flat resident size on long CPU runs) is dnactx/heap.py.
"""
