using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The playground's files over HTTP: what / and /playground/* serve is byte for byte the files in
/// src/Qwen.Server/Playground, with their types, a policy that lets the page load nothing from elsewhere, and revalidation;
/// the page stays open with API keys and is gone with --playground false. Also what the page reads from the API that
/// only it needs: the model card's defaults and random-weights flag, and /tokenize's forced tool_choice opening.
/// </summary>
public sealed partial class PlaygroundEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly string Source = Path.Combine(RepoRoot.Path, "src", "Qwen.Server", "Playground");

    [Fact]
    public async Task Root_ServesIndexHtml_AndEveryFileItLinks_AsTheyAreInTheRepo()
    {
        using var page = await server.Http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Source, "index.html")), html);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal((HttpStatusCode.OK, "text/html"), (head.StatusCode, head.Content.Headers.ContentType!.MediaType));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        var linked = LinkRegex().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["/playground/icon.svg", "/playground/playground.css", "/playground/playground.js"], linked.Order(StringComparer.Ordinal));
        foreach (var path in linked)
        {
            using var asset = await server.Http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            var type = Path.GetExtension(path) switch { ".css" => "text/css", ".svg" => "image/svg+xml", _ => "text/javascript" };
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Source, Path.GetFileName(path))), await asset.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public void PageFiles_NameNoOtherOrigin()
    {
        // No CDN, fonts or analytics: every address in the page's files is the server's own (a path). An XML namespace
        // is a name, not an address: nothing is fetched from it.
        foreach (var file in Directory.GetFiles(Source))
        {
            var text = Regex.Replace(File.ReadAllText(file), "xmlns=\"[^\"]*\"", "");
            Assert.DoesNotMatch("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", text);
        }
    }

    [Fact]
    public async Task Asset_SameETag_304_UnknownName_JsonNotFound()
    {
        using var first = await server.Http.GetAsync(new Uri("/playground/playground.js", UriKind.Relative));
        var etag = first.Headers.ETag!;
        Assert.Equal("no-cache", first.Headers.CacheControl!.ToString());
        using var again = new HttpRequestMessage(HttpMethod.Get, "/playground/playground.js") { Headers = { IfNoneMatch = { etag } } };
        using var notModified = await server.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var missing = await server.Http.GetAsync(new Uri("/playground/missing.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not_found", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task ModelCard_GenerationConfigAndRandomWeights_AsTheModelDirectorySays()
    {
        var card = (await server.Http.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data")[0];
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.Model.Directory, "generation_config.json")));
        var expected = config.RootElement;
        var shown = card.GetProperty("generation_config");
        Assert.Equal(expected.GetProperty("temperature").GetDouble(), shown.GetProperty("temperature").GetDouble(), 6);
        Assert.Equal(expected.GetProperty("top_p").GetDouble(), shown.GetProperty("top_p").GetDouble(), 6);
        Assert.Equal(expected.GetProperty("top_k").GetInt32(), shown.GetProperty("top_k").GetInt32());
        Assert.Equal(expected.GetProperty("repetition_penalty").GetDouble(), shown.GetProperty("repetition_penalty").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, shown.GetProperty("max_tokens").ValueKind); // the test model sets no max_new_tokens
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.Model.Directory, "manifest.json")));
        Assert.Equal(manifest.RootElement.GetProperty("source").GetProperty("random_preset").GetString(), card.GetProperty("random_weights").GetString());
    }

    [Fact]
    public async Task Tokenize_ForcedToolChoice_CountsThePromptTheChatRequestUses()
    {
        var tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } }, required = new[] { "city" } } } } };
        var messages = new[] { new { role = "user", content = "Weather in Paris?" } };
        var toolChoice = new { type = "function", function = new { name = "get_weather" } };
        var chat = await Post("/v1/chat/completions", new { messages, tools, tool_choice = toolChoice, max_tokens = 1 });
        var forced = await Post("/tokenize", new { messages, tools, tool_choice = toolChoice });
        var free = await Post("/tokenize", new { messages, tools });
        Assert.Equal(chat.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), forced.GetProperty("count").GetInt32());
        Assert.True(forced.GetProperty("count").GetInt32() > free.GetProperty("count").GetInt32());
        var opening = server.Model.Tokenizer.Decode(forced.GetProperty("tokens").EnumerateArray().Skip(free.GetProperty("count").GetInt32()).Select(t => t.GetInt32()).ToArray());
        Assert.StartsWith("<tool_call>\n{\"name\": \"get_weather\"", opening, StringComparison.Ordinal);
    }

    private async Task<JsonElement> Post(string path, object body)
    {
        using var response = await server.Http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [GeneratedRegex("(?:src|href)=\"(/playground/[^\"]+)\"")]
    private static partial Regex LinkRegex();
}
