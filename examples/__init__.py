"""The bundled example input (real TAIR10 slice, simulated methylome), shipped as ``dnactx.examples``."""
