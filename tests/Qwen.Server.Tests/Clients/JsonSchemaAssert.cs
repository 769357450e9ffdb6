using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Qwen.Server.Tests.Clients;

/// <summary>Validates a model's JSON output against the schema it was asked for with an independent validator (JsonSchema.Net, formats asserted).</summary>
internal static class JsonSchemaAssert
{
    /// <summary>Fails unless <paramref name="json"/> parses and satisfies <paramref name="schema"/>; the message lists every violation and the text.</summary>
    public static JsonNode Valid(string schema, string json)
    {
        JsonNode? instance;
        try
        {
            instance = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            Assert.Fail($"not JSON ({e.Message}): {json}");
            throw;
        }
        var result = JsonSchema.FromText(schema).Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var errors = result.Details.Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"));
        Assert.True(result.IsValid, $"output does not satisfy the schema: {string.Join("; ", errors)}\noutput: {json}");
        return instance!;
    }
}
