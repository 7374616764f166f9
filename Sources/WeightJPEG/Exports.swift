// `import WeightJPEG` gives a user every layer's public API (docs/ARCHITECTURE.md).
@_exported import WeightJPEGCore
@_exported import WeightJPEGFormats
@_exported import WeightJPEGCodec
@_exported import WeightJPEGModel
@_exported import WeightJPEGInference
@_exported import WeightJPEGTuning
