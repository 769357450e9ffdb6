using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Qwen.FakeHub;
using FakeHubServer = Qwen.FakeHub.FakeHub;

namespace Qwen.OnnxExport.Tests.FakeHub;

/// <summary>
/// The fake Hub answers as the Hugging Face Hub documents, checked with a plain HttpClient against hashes computed
/// here from the files on disk (git's blob id and git-lfs's pointer text are written out in <see cref="GitBlobSha1"/>
/// and <see cref="Pointer"/>, not taken from the fake).
/// </summary>
public sealed class FakeHubTests(RepoFilesFixture files) : IClassFixture<RepoFilesFixture>, IAsyncLifetime
{
    private const string RepoId = "Qwen/Qwen2.5-Tiny-Instruct";
    private const string Shard = "model-00001-of-00002.safetensors";
    private FakeHubServer _hub = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _hub = await FakeHubServer.StartAsync();
        _hub.AddRepo(RepoId, files.Directory);
        // Redirects are followed by hand, to see the 302 itself.
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(_hub.Endpoint) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
    }

    [Fact]
    public void Endpoint_Started_LoopbackWithoutTrailingSlash()
    {
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", _hub.Endpoint);
    }

    [Fact]
    public void AddRepo_HelloFile_GitsOwnBlobId()
    {
        // `printf 'hello\n' | git hash-object --stdin` prints ce013625030ba8dba906f756967f9e9ca394464a.
        var dir = Directory.CreateTempSubdirectory("fakehub-hello-").FullName;
        File.WriteAllText(Path.Combine(dir, "hello.txt"), "hello\n");
        var repo = _hub.AddRepo("org/hello", dir);
        Assert.Equal("ce013625030ba8dba906f756967f9e9ca394464a", Assert.Single(repo.Files).BlobId);
        Directory.Delete(dir, recursive: true);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("commit")]
    public async Task Api_Revision_SiblingsWithBlobIdsSizesAndLfsHashes(string revision)
    {
        var repo = _hub.AddRepo(RepoId, files.Directory);
        var response = await _http.GetAsync($"/api/models/{RepoId}/revision/{(revision == "commit" ? repo.Commit : revision)}?blobs=true");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(RepoId, (string?)json["id"]);
        Assert.Equal(repo.Commit, (string?)json["sha"]);
        Assert.Matches("^[0-9a-f]{40}$", repo.Commit);
        Assert.False((bool)json["private"]!);
        Assert.False((bool)json["gated"]!);
        var siblings = json["siblings"]!.AsArray().ToDictionary(s => (string)s!["rfilename"]!);
        var onDisk = Directory.GetFiles(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(onDisk, siblings.Keys.Order(StringComparer.Ordinal));
        foreach (var name in onDisk)
        {
            var bytes = File.ReadAllBytes(Path.Combine(files.Directory, name!));
            var sibling = siblings[name!]!;
            Assert.Equal(bytes.Length, (long)sibling["size"]!);
            if (name!.EndsWith(".safetensors", StringComparison.Ordinal) || name == "tokenizer.json")
            {
                var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
                var pointer = Encoding.UTF8.GetBytes(Pointer(sha256, bytes.Length));
                Assert.Equal(sha256, (string?)sibling["lfs"]!["sha256"]);
                Assert.Equal(bytes.Length, (long)sibling["lfs"]!["size"]!);
                Assert.Equal(pointer.Length, (int)sibling["lfs"]!["pointerSize"]!);
                Assert.Equal(GitBlobSha1(pointer), (string?)sibling["blobId"]);
            }
            else
            {
                Assert.Null(sibling["lfs"]);
                Assert.Equal(GitBlobSha1(bytes), (string?)sibling["blobId"]);
            }
        }
    }

    [Fact]
    public async Task Resolve_LfsFile_RedirectsToStorageWithLinkedEtagAndSize()
    {
        var bytes = File.ReadAllBytes(Path.Combine(files.Directory, Shard));
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        foreach (var method in new[] { HttpMethod.Head, HttpMethod.Get })
        {
            using var response = await _http.SendAsync(new HttpRequestMessage(method, $"/{RepoId}/resolve/main/{Shard}"));
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);
            Assert.Equal($"\"{sha256}\"", Header(response, "X-Linked-Etag"));
            Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(response, "X-Linked-Size"));
            Assert.Equal(_hub.AddRepo(RepoId, files.Directory).Commit, Header(response, "X-Repo-Commit"));
            Assert.Equal($"\"{GitBlobSha1(Encoding.UTF8.GetBytes(Pointer(sha256, bytes.Length)))}\"", Header(response, "ETag"));
            Assert.StartsWith(_hub.Endpoint + "/", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        }
        using var redirect = await _http.GetAsync($"/{RepoId}/resolve/main/{Shard}");
        // The storage link is pre-signed: it needs no Authorization.
        using var stored = await _http.GetAsync(redirect.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal("bytes", string.Join(",", stored.Headers.AcceptRanges));
        Assert.Equal(bytes, await stored.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Resolve_RegularFile_BytesWithBlobEtagAtMainAndCommit()
    {
        var repo = _hub.AddRepo(RepoId, files.Directory);
        var bytes = File.ReadAllBytes(Path.Combine(files.Directory, "config.json"));
        foreach (var revision in new[] { "main", repo.Commit })
        {
            using var response = await _http.GetAsync($"/{RepoId}/resolve/{revision}/config.json");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"\"{GitBlobSha1(bytes)}\"", Header(response, "ETag"));
            Assert.Equal(repo.Commit, Header(response, "X-Repo-Commit"));
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        }
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{RepoId}/resolve/main/config.json"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
        Assert.Equal($"\"{GitBlobSha1(bytes)}\"", Header(head, "ETag"));
    }

    [Theory]
    [InlineData("bytes=1000-", 1000, null)]
    [InlineData("bytes=7-99", 7, 99L)]
    [InlineData("bytes=0-", 0, null)]
    public async Task Storage_Range_PartialContentOfThatSlice(string range, int start, long? end)
    {
        var bytes = File.ReadAllBytes(Path.Combine(files.Directory, Shard));
        var last = (int)(end ?? bytes.Length - 1);
        using var request = new HttpRequestMessage(HttpMethod.Get, await StorageUrlAsync(Shard));
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {start}-{last}/{bytes.Length}", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(bytes[start..(last + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Storage_RangeStartPastEnd_416()
    {
        var size = new FileInfo(Path.Combine(files.Directory, Shard)).Length;
        using var request = new HttpRequestMessage(HttpMethod.Get, await StorageUrlAsync(Shard));
        request.Headers.TryAddWithoutValidation("Range", $"bytes={size}-");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{size}", response.Content.Headers.ContentRange!.ToString());
    }

    [Theory]
    [InlineData("/api/models/Qwen/Nope/revision/main", "RepoNotFound")]
    [InlineData("/Qwen/Nope/resolve/main/config.json", "RepoNotFound")]
    [InlineData("/api/models/Qwen/Qwen2.5-Tiny-Instruct/revision/v9", "RevisionNotFound")]
    [InlineData("/Qwen/Qwen2.5-Tiny-Instruct/resolve/refs%2Fpr%2F1/config.json", "RevisionNotFound")]
    [InlineData("/Qwen/Qwen2.5-Tiny-Instruct/resolve/main/nope.json", "EntryNotFound")]
    public async Task Missing_Thing_404WithErrorCode(string path, string code)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(code, Header(response, "X-Error-Code"));
        Assert.NotEmpty((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized, "GatedRepo")]
    [InlineData("hf_without_access", HttpStatusCode.Forbidden, "GatedRepo")]
    [InlineData("hf_unknown", HttpStatusCode.Unauthorized, null)]
    [InlineData("hf_with_access", HttpStatusCode.OK, null)]
    public async Task GatedRepo_Token_StatusOnApiAndResolve(string? token, HttpStatusCode status, string? code)
    {
        _hub.AddRepo("org/gated", files.Directory, gated: true);
        _hub.AcceptToken("hf_with_access");
        _hub.AcceptToken("hf_without_access", gatedAccess: false);
        foreach (var path in new[] { "/api/models/org/gated/revision/main", "/org/gated/resolve/main/config.json", $"/org/gated/resolve/main/{Shard}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (token is not null)
            {
                request.Headers.Authorization = new("Bearer", token);
            }
            using var response = await _http.SendAsync(request);
            var expected = status == HttpStatusCode.OK && path.EndsWith(Shard, StringComparison.Ordinal) ? HttpStatusCode.Found : status;
            Assert.Equal(expected, response.StatusCode);
            Assert.Equal(code, response.Headers.TryGetValues("X-Error-Code", out var v) ? v.Single() : null);
        }
    }

    [Fact]
    public async Task GatedRepo_StorageLinkWithoutToken_Served()
    {
        _hub.AddRepo("org/gated", files.Directory, gated: true);
        _hub.AcceptToken("hf_with_access");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/org/gated/resolve/main/{Shard}");
        request.Headers.Authorization = new("Bearer", "hf_with_access");
        using var redirect = await _http.SendAsync(request);
        using var stored = await _http.GetAsync(redirect.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
    }

    [Theory]
    [InlineData(Shard)]
    [InlineData("vocab.json")]
    public async Task CutAfter_NextTransfer_TruncatedOnceThenWhole(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(files.Directory, file));
        var url = file == Shard ? await StorageUrlAsync(file) : $"/{RepoId}/resolve/main/{file}";
        _hub.CutAfter(file, 1000);
        _hub.ClearRequests();
        var received = new MemoryStream();
        using (var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
            var stream = await response.Content.ReadAsStreamAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => stream.CopyToAsync(received));
        }
        // The cut ends with a FIN, not a reset, so the client holds every byte that was sent.
        Assert.Equal(bytes[..1000], received.ToArray());
        Assert.Equal(1000, Assert.Single(_hub.Requests).BodyBytes);
        Assert.Equal(bytes, await _http.GetByteArrayAsync(url));
    }

    [Fact]
    public async Task Corrupt_File_OneByteFlippedMetadataUnchanged()
    {
        var before = await _http.GetStringAsync($"/api/models/{RepoId}/revision/main");
        var bytes = File.ReadAllBytes(Path.Combine(files.Directory, "vocab.json"));
        _hub.Corrupt(RepoId, "vocab.json");
        var served = await _http.GetByteArrayAsync($"/{RepoId}/resolve/main/vocab.json");
        Assert.Equal(bytes.Length, served.Length);
        Assert.Single(Enumerable.Range(0, bytes.Length), i => bytes[i] != served[i]);
        Assert.Equal(before, await _http.GetStringAsync($"/api/models/{RepoId}/revision/main"));
    }

    [Fact]
    public async Task Requests_SeveralSent_RecordedInOrderAndCleared()
    {
        _hub.ClearRequests();
        var storage = await StorageUrlAsync(Shard);
        using var request = new HttpRequestMessage(HttpMethod.Get, storage);
        request.Headers.TryAddWithoutValidation("Range", "bytes=10-19");
        request.Headers.Authorization = new("Bearer", "hf_unknown_but_storage_ignores_it");
        (await _http.SendAsync(request)).Dispose();
        (await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{RepoId}/resolve/main/config.json"))).Dispose();
        var requests = _hub.Requests;
        Assert.Equal(3, requests.Count);
        Assert.Equal(new FakeHubRequest("GET", $"/{RepoId}/resolve/main/{Shard}", null, false, 302, 0), requests[0]);
        Assert.Equal(new FakeHubRequest("GET", new Uri(storage).AbsolutePath, "bytes=10-19", true, 206, 10), requests[1]);
        Assert.Equal(new FakeHubRequest("HEAD", $"/{RepoId}/resolve/main/config.json", null, false, 200, 0), requests[2]);
        _hub.ClearRequests();
        Assert.Empty(_hub.Requests);
    }

    /// <summary>Resolves an LFS file to its storage URL through the 302.</summary>
    private async Task<string> StorageUrlAsync(string file)
    {
        using var redirect = await _http.GetAsync($"/{RepoId}/resolve/main/{file}");
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        return redirect.Headers.Location!.ToString();
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? values.Single() : null;

    /// <summary>git's blob id: sha1("blob " + length + "\0" + bytes).</summary>
    private static string GitBlobSha1(byte[] bytes) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    /// <summary>A git-lfs v1 pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).</summary>
    private static string Pointer(string sha256, long size) => $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n";
}
