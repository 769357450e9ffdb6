using System.Diagnostics;
using System.Globalization;
using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport;

/// <summary>
/// The command line of onnx-export: parses flags, downloads a Hub repo id given as --input (into the Hugging Face cache),
/// runs the export with a progress bar, prints one-line errors.
/// </summary>
public static class ExportCommand
{
    private const string Usage = "usage: onnx-export (--input <hf-dir>|<org/name[@revision]> | --random tiny|small|qwen2.5-0.5b [--seed N]) --output <dir> [--precision fp32|fp16|int4] [--target cpu|cuda] [--int4-block-size 32] [--max-seq-len N] [--yarn off|FACTOR] [--candidates 64] [--force]";

    /// <summary>Runs the command; returns the process exit code (0 success, 1 export error, 2 usage error).</summary>
    public static int Run(string[] args) => Run(args, null);

    /// <summary>Runs the command reading the HF_* variables through <paramref name="getVariable"/> (null: the process environment).</summary>
    internal static int Run(string[] args, Func<string, string?>? getVariable)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? input = null, random = null, output = null, precision = "fp32", target = null;
        int seed = 1234;
        int? maxSeqLen = null;
        double? yarn = null;
        var blockSize = ExportOptions.DefaultInt4BlockSize;
        var candidates = ExportOptions.DefaultCandidates;
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
                    case "--target": target = Value(); break;
                    case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--max-seq-len": maxSeqLen = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--yarn": yarn = Value() is "off" ? 0 : double.Parse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture); break;
                    case "--int4-block-size": blockSize = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--candidates": candidates = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--force": force = true; break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (output is null)
            {
                throw new ArgumentException("--output is required");
            }
            if (!ExportOptions.IsValidInt4BlockSize(blockSize))
            {
                throw new ArgumentException($"--int4-block-size must be 16, 32, 64, 128 or 256 (given {blockSize})");
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"onnx-export: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var bar = new ProgressBar();
        try
        {
            CheckpointOrigin? origin = null;
            if (input is not null && !Directory.Exists(input) && HubRepoId.TryParse(input, out var repo))
            {
                (input, origin) = Download(repo, HubSettings.FromEnvironment(getVariable), bar);
            }
            var options = new ExportOptions
            {
                InputDirectory = input,
                Origin = origin,
                RandomPreset = random,
                Seed = seed,
                OutputDirectory = output,
                Precision = RandomModelCache.ParsePrecision(precision),
                Target = target is null ? null : RandomModelCache.ParseTarget(target),
                MaxSeqLen = maxSeqLen,
                Yarn = yarn,
                Int4BlockSize = blockSize,
                Candidates = candidates,
                Force = force,
            };
            var result = ModelExporter.Export(options, bar);
            bar.End();
            Console.WriteLine($"exported {result.OutputDirectory} in {result.Seconds:F1} s (source sha256 {result.SourceSha256})");
            return 0;
        }
        catch (Exception e) when (e is ExportException or IOException or UnauthorizedAccessException)
        {
            return Fail(bar, e.Message);
        }
        catch (Exception e)
        {
            // Anything unforeseen is still one line and a non-zero exit, never a stack trace; the temporary directory
            // has been removed by the exporter on the way out.
            return Fail(bar, $"unexpected {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Resolves and downloads <paramref name="repo"/> into the hub cache; returns its snapshot folder and where it came from (for the manifest).</summary>
    private static (string Snapshot, CheckpointOrigin Origin) Download(HubRepoId repo, HubSettings settings, ProgressBar bar)
    {
        using var client = new HubClient(settings);
        var revision = client.ResolveAsync(repo).GetAwaiter().GetResult();
        var watch = Stopwatch.StartNew();
        var snapshot = client.DownloadAsync(revision, bar).GetAwaiter().GetResult();
        bar.End();
        var seconds = watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine(snapshot.BytesDownloaded > 0
            ? string.Create(CultureInfo.InvariantCulture, $"onnx-export: downloaded {repo} (commit {snapshot.Commit}): {snapshot.BytesDownloaded / 1e6:F1} MB in {seconds:F1} s into {snapshot.Directory}")
            : $"onnx-export: {repo} (commit {snapshot.Commit}) is in the cache: {snapshot.Directory}");
        return (snapshot.Directory, new CheckpointOrigin(repo.Id, repo.Revision, snapshot.Commit));
    }

    private static int Fail(ProgressBar bar, string message)
    {
        bar.End();
        Console.Error.WriteLine($"onnx-export: error: {message.ReplaceLineEndings(" ")}");
        return 1;
    }

    /// <summary>
    /// A one-line progress bar on stderr (only when stderr is a terminal): the phase, a bar, and the bytes done; for a
    /// download also the rate and ETA. A download to a redirected stderr (a log) gets one plain line every 5 s instead.
    /// </summary>
    private sealed class ProgressBar : IProgress<ExportProgress>, IProgress<DownloadProgress>
    {
        private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(100);
        private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
        private string _last = "";

        /// <summary>Ends the bar's line, if it drew one.</summary>
        public void End()
        {
            if (_last.Length > 0)
            {
                Console.Error.WriteLine();
                _last = "";
            }
        }

        /// <summary>Redraws the bar for <paramref name="value"/>.</summary>
        public void Report(ExportProgress value)
        {
            if (Console.IsErrorRedirected)
            {
                return;
            }
            var line = $"\r{value.Phase,-8} {Bar(value.Fraction)} {value.Fraction * 100,5:F1}% {value.Done / 1e9:F2}/{value.Total / 1e9:F2} GB";
            if (line != _last)
            {
                // Redraw only when the text changes: Report comes once per MiB written.
                _last = line;
                Console.Error.Write(line);
            }
        }

        /// <summary>Redraws the download line (at most 10 times a second: Report comes per chunk), or logs a line every 5 s.</summary>
        public void Report(DownloadProgress value)
        {
            if (Console.IsErrorRedirected)
            {
                if (_sinceLine.Elapsed >= LogEvery)
                {
                    _sinceLine.Restart();
                    Console.Error.WriteLine($"onnx-export: downloading {value}");
                }
                return;
            }
            if (_sinceLine.Elapsed < RedrawEvery && value.Done < value.Total)
            {
                return;
            }
            _sinceLine.Restart();
            // Padded so a shorter line (a shorter file name) wipes the end of the previous one.
            var line = $"\r{"download",-8} {Bar(value.Fraction)} {value}";
            _last = line.PadRight(_last.Length);
            Console.Error.Write(_last);
        }

        private static string Bar(double fraction)
        {
            var filled = (int)(fraction * 40);
            return $"[{new string('#', filled)}{new string('.', 40 - filled)}]";
        }
    }
}
