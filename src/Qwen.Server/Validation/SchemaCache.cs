using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Qwen.Tokenization.Constraints;

namespace Qwen.Server.Validation;

/// <summary>
/// Compiled JSON schemas, shared by every request that sends the same schema text: an agent sends its tools and output
/// schema again at every turn, and compiling is the costly part. Bounded by entry count (least recently used out first,
/// as MemoryCache compacts); a compiled schema is immutable and safe to share between concurrent requests.
/// </summary>
internal static class SchemaCache
{
    /// <summary>How many compiled schemas are kept.</summary>
    public const int Capacity = 256;

    private static readonly MemoryCache Cache = new(new MemoryCacheOptions { SizeLimit = Capacity, CompactionPercentage = 0.25 });

    /// <summary>The compiled form of <paramref name="schema"/>; throws <see cref="JsonSchemaException"/> for a schema the grammar cannot enforce.</summary>
    public static CompiledJsonSchema Compile(JsonElement schema)
    {
        // Keyed by a hash of the text, so a large schema is not kept twice (as text and compiled).
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(schema.GetRawText())));
        if (Cache.TryGetValue(key, out CompiledJsonSchema? compiled))
        {
            return compiled!;
        }
        compiled = CompiledJsonSchema.Compile(schema);
        Cache.Set(key, compiled, new MemoryCacheEntryOptions { Size = 1 });
        return compiled;
    }
}
