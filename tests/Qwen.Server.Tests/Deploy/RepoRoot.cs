using System.Diagnostics;

namespace Qwen.Server.Tests.Deploy;

/// <summary>The repository root and a helper to run its tools (node, sh, dotnet) with a bounded wait.</summary>
internal static class RepoRoot
{
    public static string Path
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir, "Qwen.Server.sln")))
            {
                dir = System.IO.Path.GetDirectoryName(dir);
            }
            return dir ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static Task<(int Exit, string Output)> RunAsync(string file, string arguments, string workingDirectory, TimeSpan timeout, IDictionary<string, string>? env = null)
        => RunAsync(new ProcessStartInfo(file, arguments), workingDirectory, timeout, env);

    /// <summary>Runs <paramref name="file"/> with exactly these arguments (no shell quoting in between).</summary>
    public static Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
        => RunAsync(new ProcessStartInfo(file, args), workingDirectory, timeout, null);

    private static async Task<(int Exit, string Output)> RunAsync(ProcessStartInfo psi, string workingDirectory, TimeSpan timeout, IDictionary<string, string>? env)
    {
        psi.WorkingDirectory = workingDirectory;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var file = psi.FileName;
        var arguments = psi.Arguments.Length > 0 ? psi.Arguments : string.Join(' ', psi.ArgumentList);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish in {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
