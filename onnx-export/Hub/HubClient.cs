using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Qwen.OnnxExport.Hub;

/// <summary>
/// Resolves repo ids and downloads checkpoints into the Hugging Face cache, as huggingface_hub does and sharing its
/// files. Thread-safe (calls share nothing but the HTTP connection pool); must be disposed.
/// </summary>
/// <remarks>
/// A download takes each missing blob's lock (`.locks/…/&lt;etag&gt;.lock`, flock, so this process, other HubClients
/// and huggingface_hub exclude each other), writes `blobs/&lt;etag&gt;.incomplete` while hashing, continues an existing
/// one with `Range`, and renames it to the blob only once its digest matches the Hub's. A cut transfer is retried
/// from where it stopped; what is left after the last attempt stays for the next run.
/// </remarks>
public sealed class HubClient : IDisposable
{
    /// <summary>Attempts per file, the first included: a cut transfer resumes with Range up to this many times in all.</summary>
    internal const int MaxAttempts = 5;

    // The files an export reads (besides the *.safetensors at the repo root); nothing else is downloaded.
    private static readonly HashSet<string> NeededFiles = new(StringComparer.Ordinal)
    {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "model.safetensors.index.json",
    };

    private readonly HubSettings _settings;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    /// <summary>Creates a client for <paramref name="settings"/>; <paramref name="handler"/> replaces the default socket handler (which follows no redirect itself).</summary>
    public HubClient(HubSettings settings, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _endpoint = new Uri(settings.Endpoint.TrimEnd('/') + "/");
        // Redirects are followed here, not by the handler, so the token goes to Hub routes only and never to the
        // storage host (its links are pre-signed).
        handler ??= new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = DecompressionMethods.None };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Qwen.OnnxExport", "1.0"));
    }

    /// <summary>Files transferred at once by one download call.</summary>
    internal int ParallelFiles { get; set; } = 4;

    /// <summary>Free bytes on the drive holding a directory (DriveInfo); tests replace it.</summary>
    internal Func<string, long> FreeBytes { get; set; } = path => new DriveInfo(path).AvailableFreeSpace;

    /// <summary>The pause before the n-th retry is n times this.</summary>
    internal TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a blob lock held by another process is tried again.</summary>
    internal TimeSpan LockPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A response that sends nothing for this long counts as a cut transfer.</summary>
    internal TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Headroom kept on the cache drive beyond the bytes still to download: 1% of them, at least 100 MB.</summary>
    internal static long FreeSpaceMargin(long bytes) => Math.Max(bytes / 100, 100_000_000);

    /// <summary>
    /// The commit <paramref name="repo"/>'s revision points at and the files the export needs. Online: one API call
    /// (revision info with blobs). Offline: no network call; the commit from refs/&lt;revision&gt; (or the revision itself
    /// when it is a cached commit) and the files from its snapshot folder.
    /// </summary>
    public async Task<HubRevision> ResolveAsync(HubRepoId repo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if (_settings.Offline)
        {
            return ResolveOffline(repo);
        }
        var uri = new Uri(_endpoint, $"api/models/{repo.Id}/revision/{Uri.EscapeDataString(repo.Revision)}?blobs=true");
        // An endpoint that accepts the connection and never answers must not hang the command.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        byte[] json;
        try
        {
            using var response = await SendAsync(repo, uri, null, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await FailureAsync(response, repo, "revision info", timeout.Token).ConfigureAwait(false);
            }
            json = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no answer in {ReadTimeout.TotalSeconds:0.#} s"), e));
        }
        var (commit, files) = ParseRevisionInfo(json, repo);
        RequireCheckpoint(files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal), missing =>
            $"{repo.Id} on {_settings.Endpoint} is not a Transformers Qwen2.5 checkpoint: its root has no {missing}");
        return new HubRevision(repo, commit, files);
    }

    /// <summary>
    /// Downloads what the cache lacks (blobs present with the right size are reused without a request), links the
    /// snapshot and writes refs/&lt;revision&gt;. Offline, makes no request and fails if a file is missing.
    /// </summary>
    public async Task<HubSnapshot> DownloadAsync(HubRevision revision, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        var repo = revision.Repo;
        var cache = new HubCache(_settings.CacheDirectory, repo);
        var snapshot = cache.SnapshotFolder(revision.Commit);
        if (_settings.Offline)
        {
            var missing = revision.Files.Where(f => !File.Exists(Path.Combine(snapshot, f.Path))).Select(f => f.Path).ToList();
            if (missing.Count > 0)
            {
                throw NotCached(repo, $"{string.Join(", ", missing)} in {snapshot}");
            }
            return new HubSnapshot(repo, revision.Commit, snapshot, 0);
        }

        if (revision.Files.FirstOrDefault(f => f.Etag.Length == 0) is { } unknown)
        {
            // Only an offline resolve leaves an id unknown, and a blob cannot be named without it.
            throw new ArgumentException($"{unknown.Path} of {repo} has no blob id (resolved offline); resolve it online to download", nameof(revision));
        }
        var present = revision.Files.Where(f => IsPresent(cache, f)).ToHashSet();
        var toFetch = revision.Files.Where(f => !present.Contains(f)).Sum(f => f.Size - PartialLength(cache, f));
        if (toFetch > 0)
        {
            Directory.CreateDirectory(cache.RepoFolder);
            var free = FreeBytes(_settings.CacheDirectory);
            var margin = FreeSpaceMargin(toFetch);
            if (free < toFetch + margin)
            {
                throw new HubException($"not enough disk space for {repo}: {Gb(toFetch)} still to download (+{Gb(margin)} margin) but {_settings.CacheDirectory} has {Gb(free)} free; free some space or set HF_HUB_CACHE to a larger drive");
            }
        }

        var meter = new DownloadMeter(revision.Files.Sum(f => f.Size), present.Sum(f => f.Size), progress);
        // Several files at once, largest first, as huggingface_hub's snapshot_download does with its workers: one
        // connection to the storage host rarely fills a fast link. A failure cancels the others; what they had written
        // stays as .incomplete for the next run.
        var toDownload = revision.Files.Where(f => !present.Contains(f)).OrderByDescending(f => f.Size).ToList();
        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelFiles, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(toDownload, options, (file, ct) => new ValueTask(EnsureBlobAsync(cache, revision, file, meter, ct))).ConfigureAwait(false);
        foreach (var file in revision.Files)
        {
            cache.Link(revision.Commit, file.Path, file.Etag);
        }
        if (!string.Equals(repo.Revision, revision.Commit, StringComparison.OrdinalIgnoreCase))
        {
            cache.WriteRef(repo.Revision, revision.Commit);
        }
        return new HubSnapshot(repo, revision.Commit, snapshot, meter.Transferred);
    }

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => _http.Dispose();

    private static bool IsPresent(HubCache cache, HubFile file) => new FileInfo(cache.BlobPath(file.Etag)) is { Exists: true } blob && blob.Length == file.Size;

    private static long PartialLength(HubCache cache, HubFile file)
        => new FileInfo(cache.IncompletePath(file.Etag)) is { Exists: true } part && part.Length <= file.Size ? part.Length : 0;

    private static string Gb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB");

    private static bool IsNeeded(string path) => !path.Contains('/', StringComparison.Ordinal) && (NeededFiles.Contains(path) || path.EndsWith(".safetensors", StringComparison.Ordinal));

    /// <summary>Calls <paramref name="fail"/> with what is missing when <paramref name="paths"/> lack a config, a tokenizer or weights.</summary>
    private static void RequireCheckpoint(IReadOnlySet<string> paths, Func<string, string> fail)
    {
        var missing = new List<string>();
        if (!paths.Contains("config.json"))
        {
            missing.Add("config.json");
        }
        if (!paths.Contains("tokenizer.json") && !(paths.Contains("vocab.json") && paths.Contains("merges.txt")))
        {
            missing.Add("tokenizer (tokenizer.json or vocab.json + merges.txt)");
        }
        if (!paths.Any(p => p.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            missing.Add("*.safetensors weights");
        }
        if (missing.Count > 0)
        {
            throw new HubException(fail(string.Join(", ", missing)));
        }
    }

    private (string Commit, List<HubFile> Files) ParseRevisionInfo(byte[] json, HubRepoId repo)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var commit = root.GetProperty("sha").GetString() ?? "";
            if (!IsCommit(commit))
            {
                throw new FormatException($"'sha' is not a 40-hex commit (given '{commit}')");
            }
            var files = new List<HubFile>();
            foreach (var sibling in root.GetProperty("siblings").EnumerateArray())
            {
                var path = sibling.GetProperty("rfilename").GetString() ?? "";
                if (!IsNeeded(path))
                {
                    continue;
                }
                var blobId = sibling.GetProperty("blobId").GetString() ?? "";
                var size = sibling.GetProperty("size").GetInt64();
                string? sha256 = null;
                if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    sha256 = lfs.GetProperty("sha256").GetString()?.ToLowerInvariant();
                    size = lfs.TryGetProperty("size", out var lfsSize) ? lfsSize.GetInt64() : size;
                    if (sha256 is null || sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigit))
                    {
                        throw new FormatException($"'{path}' has no 64-hex lfs.sha256");
                    }
                }
                else if (!IsCommit(blobId))
                {
                    throw new FormatException($"'{path}' has no 40-hex blobId");
                }
                files.Add(new HubFile(path, size, blobId.ToLowerInvariant(), sha256));
            }
            return (commit.ToLowerInvariant(), files);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // blobs=true lists sizes and ids; a server that leaves them out is not following the Hub's API.
            throw new HubException($"unexpected revision info for {repo} from {_settings.Endpoint}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private static bool IsCommit(string text) => text.Length == 40 && text.All(char.IsAsciiHexDigit);

    private HubRevision ResolveOffline(HubRepoId repo)
    {
        var cache = new HubCache(_settings.CacheDirectory, repo);
        var commit = cache.ReadRef(repo.Revision);
        if (commit is null)
        {
            if (!IsCommit(repo.Revision) || !Directory.Exists(cache.SnapshotFolder(repo.Revision.ToLowerInvariant())))
            {
                throw NotCached(repo, Path.Combine(cache.RepoFolder, "refs", repo.Revision));
            }
            commit = repo.Revision.ToLowerInvariant();
        }
        var snapshot = cache.SnapshotFolder(commit);
        if (!Directory.Exists(snapshot))
        {
            throw NotCached(repo, snapshot);
        }
        var files = new List<HubFile>();
        var dangling = new List<string>();
        foreach (var entry in new DirectoryInfo(snapshot).EnumerateFiles().Where(f => IsNeeded(f.Name)).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var target = entry.LinkTarget is null ? entry : entry.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
            if (target is not { Exists: true })
            {
                dangling.Add($"{entry.Name} (its blob)");
                continue;
            }
            // Offline the Hub's ids are known only through the blob name the link points at.
            var etag = entry.LinkTarget is null ? "" : Path.GetFileName(entry.LinkTarget);
            files.Add(new HubFile(entry.Name, target.Length, IsCommit(etag) ? etag : "", etag.Length == 64 ? etag : null));
        }
        var paths = files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var shards = ShardsOf(Path.Combine(snapshot, "model.safetensors.index.json")).Where(s => !paths.Contains(s));
        var missing = dangling.Concat(shards).ToList();
        if (missing.Count > 0)
        {
            throw NotCached(repo, $"{string.Join(", ", missing)} in {snapshot}");
        }
        RequireCheckpoint(paths, what => NotCached(repo, $"{what} in {snapshot}").Message);
        return new HubRevision(repo, commit, files);
    }

    /// <summary>The shard files model.safetensors.index.json names, or none when it is absent or unreadable (the exporter reports that).</summary>
    private static IEnumerable<string> ShardsOf(string indexPath)
    {
        if (!File.Exists(indexPath))
        {
            return [];
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            return doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct().ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return [];
        }
    }

    private HubException NotCached(HubRepoId repo, string missing)
        => new($"HF_HUB_OFFLINE=1 and {repo} is not in the cache {_settings.CacheDirectory}: missing {missing}");

    private async Task EnsureBlobAsync(HubCache cache, HubRevision revision, HubFile file, DownloadMeter meter, CancellationToken cancellationToken)
    {
        var lockPath = cache.LockPath(file.Etag);
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(cache.BlobPath(file.Etag))!);
        using var held = await AcquireLockAsync(lockPath, cancellationToken).ConfigureAwait(false);
        if (IsPresent(cache, file))
        {
            // Another process (or client) finished this blob while we waited for its lock.
            meter.Resumed(file.Path, file.Size);
            return;
        }
        await TransferAsync(cache, revision, file, meter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the blob's lock: a FileShare.None FileStream, which .NET on Linux backs with flock(LOCK_EX), the lock
    /// python's filelock takes for huggingface_hub. Held by someone else: polled until free.
    /// </summary>
    private async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task TransferAsync(HubCache cache, HubRevision revision, HubFile file, DownloadMeter meter, CancellationToken cancellationToken)
    {
        var repo = revision.Repo;
        var partPath = cache.IncompletePath(file.Etag);
        using var hasher = ContentHasher.Create(file);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using (var part = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, useAsync: true))
            {
                var have = part.Length;
                if (have > file.Size)
                {
                    part.SetLength(0);
                    have = 0;
                }
                // A resumed download is verified as a whole, so the part already on disk is hashed first.
                while (part.Position < have)
                {
                    var n = await part.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, have - part.Position)), cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException($"{partPath} shrank while it was read");
                    }
                    hasher.Append(buffer.AsSpan(0, n));
                }
                if (have > 0)
                {
                    meter.Resumed(file.Path, have);
                }

                // An .incomplete already whole (a run stopped before its rename) needs no request, only the check below.
                for (var attempt = 1; have < file.Size || (file.Size == 0 && attempt == 1); attempt++)
                {
                    try
                    {
                        have = await TransferOnceAsync(repo, revision.Commit, file, part, have, hasher, buffer, meter, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsTransient(e, cancellationToken))
                    {
                        have = part.Length;
                        if (attempt >= MaxAttempts)
                        {
                            await part.FlushAsync(cancellationToken).ConfigureAwait(false);
                            throw new HubException($"downloading {file.Path} of {repo} from {_settings.Endpoint} failed {MaxAttempts} times ({Gb(have)} of {Gb(file.Size)} kept in {partPath}; run again to resume): {e.Message.ReplaceLineEndings(" ")}");
                        }
                        await Task.Delay(RetryDelay * attempt, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            var digest = hasher.Digest();
            if (!string.Equals(digest, hasher.Expected, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partPath);
                throw new HubException($"{file.Path} of {repo} from {_settings.Endpoint} is corrupt: {hasher.Kind} expected {hasher.Expected}, got {digest} (the partial file was deleted; run again)");
            }
            File.Move(partPath, cache.BlobPath(file.Etag), overwrite: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A cut connection, a stalled read or a server error is worth another attempt; the caller's cancellation is not.</summary>
    private static bool IsTransient(Exception e, CancellationToken cancellationToken)
        => e is IOException or HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>One GET of the rest of <paramref name="file"/> from byte <paramref name="have"/> (from 0 when the server ignores the range); returns the new length.</summary>
    private async Task<long> TransferOnceAsync(
        HubRepoId repo, string commit, HubFile file, FileStream part, long have, ContentHasher hasher, byte[] buffer, DownloadMeter meter, CancellationToken cancellationToken)
    {
        var path = string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString));
        var uri = new Uri(_endpoint, $"{repo.Id}/resolve/{commit}/{path}");
        using var response = await SendAsync(repo, uri, have > 0 ? new RangeHeaderValue(have, null) : null, cancellationToken, commit).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have == file.Size)
        {
            return have;
        }
        if ((response.StatusCode == HttpStatusCode.OK && have > 0) || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The server ignored (or refused) the range: start over, bytes and hash alike.
            var refused = have;
            meter.Dropped(have);
            part.SetLength(0);
            have = 0;
            hasher.Restart();
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                throw new HttpRequestException($"{file.Path}: range from byte {refused} refused (416); restarting from 0");
            }
        }
        else if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            if (response.Content.Headers.ContentRange?.From != have)
            {
                throw new HubException($"{file.Path} of {repo} from {_settings.Endpoint}: asked for bytes from {have}, got Content-Range '{response.Content.Headers.ContentRange}'");
            }
        }
        else if ((int)response.StatusCode >= 500)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        else if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await FailureAsync(response, repo, $"download of {file.Path}", cancellationToken, file.Path, commit).ConfigureAwait(false);
        }

        part.Position = have;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            while (true)
            {
                stall.CancelAfter(ReadTimeout);
                var n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                if (have + n > file.Size)
                {
                    throw new HubException($"{file.Path} of {repo} from {_settings.Endpoint} is larger than the {file.Size} bytes the Hub lists");
                }
                await part.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                hasher.Append(buffer.AsSpan(0, n));
                have += n;
                meter.Received(file.Path, n);
            }
        }
        if (have < file.Size)
        {
            throw new IOException($"the transfer ended after {have} of {file.Size} bytes");
        }
        return have;
    }

    /// <summary>
    /// Sends a GET to a Hub route and follows redirects itself: the token goes to Hub routes (the API and
    /// resolve) only, never to the storage a redirect leads to. Files are fetched by <paramref name="commit"/>, never by
    /// branch, so a branch that moves mid-download cannot mix two commits; a connection failure on the first hop of a
    /// request without one (the revision API) is "cannot reach".
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(HubRepoId repo, Uri uri, RangeHeaderValue? range, CancellationToken cancellationToken, string? commit = null)
    {
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Range = range;
            if (_settings.Token is { } token && IsHubRoute(uri))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (hop == 0 && commit is null && (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)))
            {
                throw Unreachable(e);
            }
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location)
            {
                return response;
            }
            response.Dispose();
            if (hop >= 10)
            {
                throw new HubException($"too many redirects for {repo} from {_settings.Endpoint} (last to {location})");
            }
            uri = new Uri(uri, location);
        }
    }

    private HubException Unreachable(Exception e)
        => new($"cannot reach {_settings.Endpoint}: {e.Message.ReplaceLineEndings(" ")}; with HF_HUB_OFFLINE=1 the cache is used without network");

    /// <summary>The endpoint's own API and resolve routes; a storage URL, even on the same host, is not one.</summary>
    private bool IsHubRoute(Uri uri)
        => Uri.Compare(uri, _endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
           && uri.AbsolutePath.StartsWith(_endpoint.AbsolutePath, StringComparison.Ordinal)
           && (uri.AbsolutePath[_endpoint.AbsolutePath.Length..].StartsWith("api/", StringComparison.Ordinal) || uri.AbsolutePath.Contains("/resolve/", StringComparison.Ordinal));

    /// <summary>The one-line error for a failed Hub answer, by its X-Error-Code and status.</summary>
    private async Task<HubException> FailureAsync(HttpResponseMessage response, HubRepoId repo, string what, CancellationToken cancellationToken, string? path = null, string? commit = null)
    {
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var endpoint = _settings.Endpoint;
        var page = $"{endpoint}/{repo.Id}";
        var hasToken = _settings.Token is not null;
        var status = (int)response.StatusCode;
        return new HubException(code switch
        {
            "RepoNotFound" => $"{repo.Id} not found on {endpoint} (a private repo also needs HF_TOKEN{(hasToken ? " with access to it" : "")})",
            "RevisionNotFound" => $"{repo.Id}: revision '{repo.Revision}' not found on {endpoint} (give a branch, tag or commit of the repo)",
            "EntryNotFound" => $"{repo.Id}: file '{path}' not found at commit {commit} on {endpoint}",
            "GatedRepo" when !hasToken => $"{repo.Id} on {endpoint} is gated: accept its terms at {page} and set HF_TOKEN to a token with access",
            "GatedRepo" when status == 403 => $"HF_TOKEN has no access to the gated repo {repo.Id} on {endpoint}: accept its terms at {page} with the token's account",
            _ when status == 401 && hasToken => $"HF_TOKEN was refused by {endpoint} for {repo.Id} (401): the token is invalid or expired; create one at {endpoint}/settings/tokens",
            _ when status == 401 => $"{repo.Id} on {endpoint} needs a token (401): set HF_TOKEN to a token with access",
            _ => $"{what} of {repo} from {endpoint} failed: HTTP {status} {response.ReasonPhrase}{await ErrorBodyAsync(response, cancellationToken).ConfigureAwait(false)}",
        });
    }

    /// <summary>": &lt;message&gt;" from a Hub error body {"error": "..."}, or nothing.</summary>
    private static async Task<string> ErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                ? ": " + error.GetString()!.ReplaceLineEndings(" ")
                : "";
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return "";
        }
    }
}
