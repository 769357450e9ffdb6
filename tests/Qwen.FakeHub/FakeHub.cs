using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Qwen.FakeHub;

/// <summary>
/// A fake Hugging Face Hub on loopback (Kestrel, 127.0.0.1, port 0) following the Hub's documented behaviour:
/// <c>GET /api/models/{org}/{name}/revision/{revision}</c> (siblings with blobId, size and lfs), <c>GET|HEAD
/// /{org}/{name}/resolve/{revision}/{path}</c> (regular files 200, LFS files 302 to <c>/cdn/{org}/{name}/{sha256}</c>,
/// which serves the bytes with Range support and needs no token), X-Error-Code on 404/401/403, gated repos.
/// Revisions are "main" or the commit sha. Files stream from disk. Thread-safe; must be disposed.
/// </summary>
/// <remarks>
/// Auth, checked on the API and resolve routes: an Authorization header with a token the hub does not know is 401
/// (no X-Error-Code, as the Hub answers a bad token on any repo); a gated repo without a token is 401 GatedRepo, with a
/// known token lacking access 403 GatedRepo. Order of checks: repo (404 RepoNotFound), auth, revision (404
/// RevisionNotFound), file (404 EntryNotFound).
/// Naming: inside any namespace under Qwen, a bare <c>FakeHub</c> finds the namespace Qwen.FakeHub before this class
/// (CS0118), whatever the usings; write <c>using FakeHubServer = Qwen.FakeHub.FakeHub;</c> or the full name.
/// </remarks>
public sealed class FakeHub : IAsyncDisposable
{
    private const string Main = "main";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<Exchange> _requests = []; // under _gate
    private readonly Dictionary<string, (long Bytes, int Times)> _cuts = new(StringComparer.Ordinal); // under _gate
    private readonly HashSet<(string Repo, string Path)> _corrupt = []; // under _gate

    private FakeHub(WebApplication app) => _app = app;

    /// <summary>The base URL, <c>http://127.0.0.1:&lt;port&gt;</c>, no trailing slash.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Every request so far, in the order they arrived (a snapshot; a request still being answered shows its status and body bytes so far).</summary>
    public IReadOnlyList<FakeHubRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests.Select(e => e.Snapshot())];
            }
        }
    }

    /// <summary>Starts a hub on a free loopback port.</summary>
    public static async Task<FakeHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        // A test that leaves a download hanging should not hold up DisposeAsync for the host's default 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        var hub = new FakeHub(app);
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        hub.Endpoint = address.TrimEnd('/');
        return hub;
    }

    /// <summary>
    /// Serves every file under <paramref name="directory"/> (recursively) as repo <paramref name="repoId"/> at branch
    /// "main" and at its commit sha, replacing a repo of that id. <paramref name="isLfs"/> (repo-relative path) decides
    /// which files are LFS; default *.safetensors and tokenizer.json, as in real Qwen2.5 repos. Hashes every file once, here.
    /// </summary>
    public FakeRepo AddRepo(string repoId, string directory, bool gated = false, Func<string, bool>? isLfs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoId);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (repoId.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
        {
            throw new ArgumentException($"repoId must be 'org/name' (given '{repoId}')", nameof(repoId));
        }
        isLfs ??= DefaultIsLfs;
        var root = Path.GetFullPath(directory);
        var files = new List<FakeRepoFile>();
        foreach (var full in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var path = Path.GetRelativePath(root, full).Replace(Path.DirectorySeparatorChar, '/');
            var size = new FileInfo(full).Length;
            if (isLfs(path))
            {
                var sha256 = GitBlob.Sha256OfFile(full);
                files.Add(new FakeRepoFile(path, size, GitBlob.Sha1(Encoding.UTF8.GetBytes(GitBlob.LfsPointer(sha256, size))), sha256));
            }
            else
            {
                files.Add(new FakeRepoFile(path, size, GitBlob.Sha1OfFile(full), null));
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var listing = string.Concat(files.Select(f => $"{f.Path}\0{f.BlobId}\n"));
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(listing)));
        var info = new FakeRepo(repoId, commit, files);
        _repos[repoId] = new Repo(info, root, gated, files.ToDictionary(f => f.Path, StringComparer.Ordinal));
        return info;
    }

    /// <summary>Makes <paramref name="token"/> a token the hub knows; <paramref name="gatedAccess"/> false: gated repos answer it 403.</summary>
    public void AcceptToken(string token, bool gatedAccess = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _tokens[token] = gatedAccess;
    }

    /// <summary>
    /// The next <paramref name="times"/> body transfers (GET, resolve or storage route) of the file at repo-relative
    /// <paramref name="path"/>, in any repo, stop after <paramref name="bytes"/> body bytes and abort the connection.
    /// </summary>
    public void CutAfter(string path, long bytes, int times = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(times);
        lock (_gate)
        {
            _cuts[path] = (bytes, times);
        }
    }

    /// <summary>Serves the file with its middle byte (index size/2) inverted from now on; sizes, ids and hashes stay those of the true file.</summary>
    public void Corrupt(string repoId, string path)
    {
        lock (_gate)
        {
            _corrupt.Add((repoId, path));
        }
    }

    /// <summary>Forgets the requests recorded so far.</summary>
    public void ClearRequests()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static bool DefaultIsLfs(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal) || path == "tokenizer.json" || path.EndsWith("/tokenizer.json", StringComparison.Ordinal);

    private async Task HandleAsync(HttpContext context)
    {
        var raw = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var rawPath = query < 0 ? raw : raw[..query];
        var range = context.Request.Headers.Range;
        var exchange = new Exchange(context.Request.Method, rawPath, range.Count > 0 ? range.ToString() : null, context.Request.Headers.Authorization.Count > 0);
        context.Features.Set(exchange);
        // Recorded on arrival, so that a request is listed before its client can have seen the answer.
        lock (_gate)
        {
            _requests.Add(exchange);
        }
        try
        {
            // Segments are split before unescaping so that an escaped revision (refs%2Fpr%2F1) stays one segment.
            var segments = rawPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
            await RouteAsync(context, segments, exchange);
        }
        finally
        {
            exchange.Status = context.Response.StatusCode;
        }
    }

    private Task RouteAsync(HttpContext context, string[] segments, Exchange exchange)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return ErrorAsync(context, 405, null, $"method {context.Request.Method} is not allowed");
        }
        switch (segments)
        {
            case ["api", "models", var org, var name]:
                return ApiAsync(context, $"{org}/{name}", Main);
            case ["api", "models", var org, var name, "revision", var revision]:
                return ApiAsync(context, $"{org}/{name}", revision);
            case ["cdn", var org, var name, var sha256]:
                return StorageAsync(context, $"{org}/{name}", sha256, exchange);
            case [var org, var name, "resolve", var revision, .. var rest] when rest.Length > 0:
                return ResolveAsync(context, $"{org}/{name}", revision, string.Join('/', rest), exchange);
            default:
                return ErrorAsync(context, 404, null, $"no route for {context.Request.Path}");
        }
    }

    private async Task ApiAsync(HttpContext context, string repoId, string revision)
    {
        if (await CheckAsync(context, repoId, revision) is not { } repo)
        {
            return;
        }
        var siblings = repo.Info.Files.Select(f => f.Sha256 is null
            ? (object)new { rfilename = f.Path, blobId = f.BlobId, size = f.Size }
            : new { rfilename = f.Path, blobId = f.BlobId, size = f.Size, lfs = new { sha256 = f.Sha256, size = f.Size, pointerSize = Encoding.UTF8.GetByteCount(GitBlob.LfsPointer(f.Sha256, f.Size)) } });
        var body = new Dictionary<string, object>
        {
            ["_id"] = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(repo.Info.Id)))[..24],
            ["id"] = repo.Info.Id,
            ["modelId"] = repo.Info.Id,
            ["sha"] = repo.Info.Commit,
            ["private"] = false,
            ["gated"] = repo.Gated ? "auto" : false,
            ["siblings"] = siblings.ToList(),
        };
        context.Response.Headers["X-Repo-Commit"] = repo.Info.Commit;
        var json = JsonSerializer.SerializeToUtf8Bytes(body);
        Exchange.Of(context).Status = 200;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = json.Length;
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(json);
        }
    }

    private async Task ResolveAsync(HttpContext context, string repoId, string revision, string path, Exchange exchange)
    {
        if (await CheckAsync(context, repoId, revision) is not { } repo)
        {
            return;
        }
        if (!repo.Files.TryGetValue(path, out var file))
        {
            context.Response.Headers["X-Repo-Commit"] = repo.Info.Commit;
            await ErrorAsync(context, 404, "EntryNotFound", $"{path} does not exist on \"{revision}\"");
            return;
        }
        var headers = context.Response.Headers;
        headers["X-Repo-Commit"] = repo.Info.Commit;
        headers.ETag = $"\"{file.BlobId}\"";
        if (file.Sha256 is not null)
        {
            context.Response.StatusCode = 302;
            headers.Location = $"{Endpoint}/cdn/{repoId}/{file.Sha256}";
            headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
            headers["X-Linked-Size"] = file.Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentLength = 0;
            return;
        }
        await ServeAsync(context, repo, file, exchange);
    }

    private async Task StorageAsync(HttpContext context, string repoId, string sha256, Exchange exchange)
    {
        var file = _repos.TryGetValue(repoId, out var repo) ? repo.Info.Files.FirstOrDefault(f => f.Sha256 == sha256) : null;
        if (repo is null || file is null)
        {
            await ErrorAsync(context, 404, null, $"no stored object {sha256} for {repoId}");
            return;
        }
        context.Response.Headers.ETag = $"\"{sha256}\"";
        await ServeAsync(context, repo, file, exchange);
    }

    /// <summary>Finds the repo and checks auth and revision; answers the error itself and returns null when one fails.</summary>
    private async Task<Repo?> CheckAsync(HttpContext context, string repoId, string revision)
    {
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            await ErrorAsync(context, 404, "RepoNotFound", $"Repository Not Found for url: {context.Request.Path}");
            return null;
        }
        var authorization = context.Request.Headers.Authorization.ToString();
        var hasToken = authorization.Length > 0;
        var access = false;
        if (hasToken && (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.TryGetValue(authorization["Bearer ".Length..], out access)))
        {
            await ErrorAsync(context, 401, null, "Invalid credentials in Authorization header");
            return null;
        }
        if (repo.Gated && !hasToken)
        {
            await ErrorAsync(context, 401, "GatedRepo", $"Access to model {repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.");
            return null;
        }
        if (repo.Gated && !access)
        {
            await ErrorAsync(context, 403, "GatedRepo", $"Access to model {repoId} is restricted and you are not in the authorized list. Visit https://huggingface.co/{repoId} to ask for access.");
            return null;
        }
        if (revision != Main && revision != repo.Info.Commit)
        {
            await ErrorAsync(context, 404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return null;
        }
        return repo;
    }

    /// <summary>Streams the file (or the requested range) from disk, applying Corrupt and CutAfter.</summary>
    private async Task ServeAsync(HttpContext context, Repo repo, FakeRepoFile file, Exchange exchange)
    {
        var response = context.Response;
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        long start = 0, end = file.Size - 1;
        if (ParseRange(context.Request.Headers.Range.ToString()) is var (from, to))
        {
            if (from >= file.Size)
            {
                response.Headers.ContentRange = $"bytes */{file.Size}";
                await ErrorAsync(context, 416, null, $"range start {from} is past the end of {file.Path} ({file.Size} bytes)");
                return;
            }
            start = from;
            end = Math.Min(to ?? file.Size - 1, file.Size - 1);
            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{file.Size}";
        }
        response.ContentLength = end - start + 1;
        exchange.Status = response.StatusCode;
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            return;
        }
        long? cut = null;
        bool corrupt;
        lock (_gate)
        {
            if (_cuts.TryGetValue(file.Path, out var c))
            {
                cut = c.Bytes;
                if (c.Times == 1)
                {
                    _cuts.Remove(file.Path);
                }
                else
                {
                    _cuts[file.Path] = (c.Bytes, c.Times - 1);
                }
            }
            corrupt = _corrupt.Contains((repo.Info.Id, file.Path));
        }
        var flip = file.Size / 2;
        await using var stream = new FileStream(Path.Combine(repo.Directory, file.Path), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        stream.Position = start;
        var buffer = new byte[1 << 16];
        var length = end - start + 1;
        if (cut is { } limit && limit < length)
        {
            await CutAsync(context, stream, buffer, start, limit, corrupt ? flip : -1, exchange);
            return;
        }
        for (var position = start; position <= end;)
        {
            var n = await ReadAsync(stream, buffer, (int)Math.Min(buffer.Length, end - position + 1), position, corrupt ? flip : -1, file.Path, context.RequestAborted);
            // Counted before the write completes: the client may read the bytes before this method resumes.
            exchange.Bytes += n;
            await response.Body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
            position += n;
        }
    }

    /// <summary>
    /// Sends the head and the first <paramref name="limit"/> body bytes straight to the socket, then a FIN, so the client
    /// reliably sees a response that ends early. Aborting through Kestrel alone would reset the connection, and a reset
    /// makes the client's kernel drop bytes it has not read yet, sometimes the head itself. Nothing has gone through
    /// Kestrel's output for this response, and the client sent this request only after reading the previous response
    /// whole, so the socket is free to write.
    /// </summary>
    private static async Task CutAsync(HttpContext context, FileStream stream, byte[] buffer, long start, long limit, long flip, Exchange exchange)
    {
        var socket = context.Features.GetRequiredFeature<IConnectionSocketFeature>().Socket;
        var response = context.Response;
        var head = new StringBuilder($"HTTP/1.1 {response.StatusCode} {ReasonPhrases.GetReasonPhrase(response.StatusCode)}\r\n");
        foreach (var (name, values) in response.Headers)
        {
            head.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}: {values}\r\n");
        }
        await socket.SendAsync(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()), context.RequestAborted);
        for (var position = start; exchange.Bytes < limit;)
        {
            var n = await ReadAsync(stream, buffer, (int)Math.Min(buffer.Length, limit - exchange.Bytes), position, flip, stream.Name, context.RequestAborted);
            exchange.Bytes += n;
            for (var sent = 0; sent < n;)
            {
                sent += await socket.SendAsync(buffer.AsMemory(sent, n - sent), context.RequestAborted);
            }
            position += n;
        }
        socket.Shutdown(SocketShutdown.Send);
        try
        {
            // The client closes its end once it has read up to the FIN; the cap covers one that never reads.
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
        context.Abort();
    }

    /// <summary>Reads up to <paramref name="count"/> bytes at file offset <paramref name="position"/>, inverting the byte at <paramref name="flip"/> (-1: none).</summary>
    private static async Task<int> ReadAsync(FileStream stream, byte[] buffer, int count, long position, long flip, string name, CancellationToken cancellationToken)
    {
        var n = await stream.ReadAsync(buffer.AsMemory(0, count), cancellationToken);
        if (n == 0)
        {
            throw new IOException($"{name} is shorter on disk than the size it was added with");
        }
        if (flip >= position && flip < position + n)
        {
            buffer[flip - position] ^= 0xFF;
        }
        return n;
    }

    /// <summary>"bytes=S-" or "bytes=S-E" (one range); anything else is ignored, as HTTP allows, and the whole file served.</summary>
    private static (long From, long? To)? ParseRange(string header)
    {
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal))
        {
            return null;
        }
        var parts = header["bytes=".Length..].Split('-');
        if (parts.Length != 2 || !long.TryParse(parts[0], out var from) || from < 0)
        {
            return null;
        }
        if (parts[1].Length == 0)
        {
            return (from, null);
        }
        return long.TryParse(parts[1], out var to) && to >= from ? (from, to) : null;
    }

    private static async Task ErrorAsync(HttpContext context, int status, string? code, string message)
    {
        context.Response.StatusCode = status;
        if (code is not null)
        {
            context.Response.Headers["X-Error-Code"] = code;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(new { error = message });
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = json.Length;
        Exchange.Of(context).Status = status;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(json);
        }
    }

    /// <summary>A served repository: its listing, where its files are on disk, and whether it is gated.</summary>
    private sealed record Repo(FakeRepo Info, string Directory, bool Gated, IReadOnlyDictionary<string, FakeRepoFile> Files);

    /// <summary>One request as it is answered; its status and body bytes are updated before the client can see them.</summary>
    private sealed class Exchange(string method, string path, string? range, bool hadAuthorization)
    {
        private long _bytes;
        private int _status;

        public int Status
        {
            get => Volatile.Read(ref _status);
            set => Volatile.Write(ref _status, value);
        }

        public long Bytes
        {
            get => Interlocked.Read(ref _bytes);
            set => Interlocked.Exchange(ref _bytes, value);
        }

        public static Exchange Of(HttpContext context) => context.Features.GetRequiredFeature<Exchange>();

        public FakeHubRequest Snapshot() => new(method, path, range, hadAuthorization, Status, Bytes);
    }
}
