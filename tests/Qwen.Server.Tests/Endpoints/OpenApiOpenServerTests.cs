using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>Without API keys every route is open, and the OpenAPI document says so: no security scheme, no requirement.</summary>
public sealed class OpenApiOpenServerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task SwaggerJson_WithoutApiKeys_DeclaresNoSecurity()
    {
        var doc = JsonDocument.Parse(await server.Http.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        Assert.False(doc.GetProperty("components").TryGetProperty("securitySchemes", out _));
        Assert.False(doc.TryGetProperty("security", out _));
        foreach (var operation in doc.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject()))
        {
            Assert.False(operation.Value.TryGetProperty("security", out _), operation.Name);
        }
        using var models = await server.Http.GetAsync("/v1/models");
        models.EnsureSuccessStatusCode(); // open indeed
    }
}
