using System.Globalization;

namespace Qwen.OnnxExport;

/// <summary>The command line of onnx-export: parses flags, runs the export with a progress bar, prints one-line errors.</summary>
public static class ExportCommand
{
    private const string Usage = "usage: onnx-export (--input <hf-dir> | --random tiny|small|qwen2.5-0.5b [--seed N]) --output <dir> [--precision fp32|fp16|int4] [--max-seq-len N] [--force]";

    /// <summary>Runs the command; returns the process exit code (0 success, 1 export error, 2 usage error).</summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? input = null, random = null, output = null, precision = "fp32";
        int seed = 1234;
        int? maxSeqLen = null;
        var force = false;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--input": input = Value(); break;
                    case "--random": random = Value(); break;
                    case "--output": output = Value(); break;
                    case "--precision": precision = Value(); break;
                    case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--max-seq-len": maxSeqLen = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--force": force = true; break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (output is null)
            {
                throw new ArgumentException("--output is required");
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"onnx-export: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        try
        {
            var options = new ExportOptions
            {
                InputDirectory = input,
                RandomPreset = random,
                Seed = seed,
                OutputDirectory = output,
                Precision = RandomModelCache.ParsePrecision(precision),
                MaxSeqLen = maxSeqLen,
                Force = force,
            };
            var result = ModelExporter.Export(options, new ProgressBar());
            Console.Error.WriteLine();
            Console.WriteLine($"exported {result.OutputDirectory} in {result.Seconds:F1} s (source sha256 {result.SourceSha256})");
            return 0;
        }
        catch (ExportException e)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"onnx-export: error: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"onnx-export: error: {e.Message}");
            return 1;
        }
    }

    /// <summary>A one-line progress bar on stderr (only when stderr is a terminal).</summary>
    private sealed class ProgressBar : IProgress<double>
    {
        public void Report(double value)
        {
            if (Console.IsErrorRedirected)
            {
                return;
            }
            var filled = (int)(value * 40);
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 40 - filled)}] {value * 100,5:F1}%");
        }
    }
}
