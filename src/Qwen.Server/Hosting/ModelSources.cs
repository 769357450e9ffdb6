using Microsoft.Extensions.Logging;

namespace Qwen.Server.Hosting;

/// <summary>
/// How <see cref="ModelHost.Load"/> obtains a model directory it does not find on disk: the composition root's, so that only
/// it knows the exporter.
/// </summary>
/// <param name="BuildDemo">Builds (or reuses) the demo model: preset, cache directory, execution provider, logger; returns its directory.</param>
/// <param name="FetchFromHub">
/// For a <see cref="ServerOptions.Model"/> that is a Hugging Face repo id: downloads, exports and returns it; null when the
/// value is not a repo id. Throws <see cref="StartupException"/> with a one-line reason when the Hub or the export fails.
/// </param>
public sealed record ModelSources(Func<string, string, string, ILogger, string> BuildDemo, Func<ServerOptions, ILogger, HubModel?> FetchFromHub);
