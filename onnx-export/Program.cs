using Qwen.OnnxExport;

// onnx-export: dotnet run --project onnx-export -- --input <hf-dir>|<org/name[@rev]> --output <dir> [--precision fp32|fp16|int4] [--max-seq-len N] [--force]
//              dotnet run --project onnx-export -- --random tiny|small|qwen2.5-0.5b --seed N --output <dir> [...]
return ExportCommand.Run(args);
