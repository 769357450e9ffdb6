using Google.Protobuf;

namespace Qwen.OnnxExport.Tests.Reference;

/// <summary>
/// A minimal reader of an ONNX model's graph written for the tests from onnx.proto's field numbers, independent of the
/// exporter's writer: each node's op type, inputs, outputs and integer attributes, and each initializer's element type;
/// and a float initializer's values, stored inline or in the external data file.
/// </summary>
internal sealed class OnnxGraphFile
{
    /// <summary>TensorProto.DataType FLOAT.</summary>
    public const int Float = 1;

    /// <summary>TensorProto.DataType FLOAT16.</summary>
    public const int Float16 = 10;

    private OnnxGraphFile(List<Node> nodes, Dictionary<string, int> initializers)
    {
        Nodes = nodes;
        Initializers = initializers;
    }

    /// <summary>The graph's nodes in file order.</summary>
    public IReadOnlyList<Node> Nodes { get; }

    /// <summary>Initializer name → TensorProto.DataType.</summary>
    public IReadOnlyDictionary<string, int> Initializers { get; }

    public static OnnxGraphFile Read(string path)
    {
        var nodes = new List<Node>();
        var initializers = new Dictionary<string, int>();
        foreach (var (field, graph, _) in Fields(File.ReadAllBytes(path)))
        {
            if (field != 7) // ModelProto.graph
            {
                continue;
            }
            foreach (var (f, value, _) in Fields(graph))
            {
                if (f == 1) // GraphProto.node
                {
                    nodes.Add(ReadNode(value));
                }
                else if (f == 5) // GraphProto.initializer: TensorProto name (8), data_type (2)
                {
                    var tensor = Fields(value).ToList();
                    initializers[Text(tensor.Single(t => t.Field == 8).Value)] = (int)Varint(tensor.Single(t => t.Field == 2).Value);
                }
            }
        }
        return new OnnxGraphFile(nodes, initializers);
    }

    /// <summary>
    /// The FLOAT initializer <paramref name="name"/> of the model at <paramref name="path"/>: its dims and values, read from
    /// float_data (4), raw_data (9) or, with data_location EXTERNAL (14 = 1), the external_data (13) entries' location,
    /// offset and length in the file next to the model.
    /// </summary>
    public static (long[] Dims, float[] Values) ReadFloatInitializer(string path, string name)
    {
        foreach (var (field, graph, _) in Fields(File.ReadAllBytes(path)))
        {
            if (field != 7) // ModelProto.graph
            {
                continue;
            }
            foreach (var (f, value, _) in Fields(graph))
            {
                if (f != 5) // GraphProto.initializer
                {
                    continue;
                }
                var tensor = Fields(value).ToList();
                if (Text(tensor.Single(t => t.Field == 8).Value) != name)
                {
                    continue;
                }
                var type = (int)Varint(tensor.Single(t => t.Field == 2).Value);
                if (type != Float)
                {
                    throw new InvalidDataException($"initializer {name} has data_type {type}, not FLOAT");
                }
                // dims: packed (one length-delimited field) or one varint per dimension; Fields re-encodes a varint as 8 bytes.
                var dims = tensor.Where(t => t.Field == 1).SelectMany(t => t.Packed ? PackedVarints(t.Value) : [Varint(t.Value)]).ToArray();
                var count = (int)dims.Aggregate(1L, (a, b) => a * b);
                byte[] bytes;
                if (tensor.FirstOrDefault(t => t.Field == 14).Value is { } location && Varint(location) == 1)
                {
                    var entries = tensor.Where(t => t.Field == 13).Select(t => Fields(t.Value).ToList())
                        .ToDictionary(e => Text(e.Single(x => x.Field == 1).Value), e => Text(e.Single(x => x.Field == 2).Value));
                    var offset = entries.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
                    bytes = new byte[count * sizeof(float)];
                    using var data = File.OpenRead(Path.Combine(Path.GetDirectoryName(path)!, entries["location"]));
                    data.Position = offset;
                    data.ReadExactly(bytes);
                    if (entries.TryGetValue("length", out var length))
                    {
                        Assert.Equal(bytes.Length, long.Parse(length, System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    bytes = (tensor.FirstOrDefault(t => t.Field == 9).Value ?? tensor.FirstOrDefault(t => t.Field == 4).Value)!;
                }
                Assert.Equal(count * sizeof(float), bytes.Length);
                return (dims, Enumerable.Range(0, count).Select(i => BitConverter.ToSingle(bytes, i * sizeof(float))).ToArray());
            }
        }
        throw new KeyNotFoundException($"no initializer named {name} in {path}");
    }

    private static Node ReadNode(byte[] bytes)
    {
        string opType = "", domain = "";
        List<string> inputs = [], outputs = [];
        var attributes = new Dictionary<string, long>();
        foreach (var (f, value, _) in Fields(bytes))
        {
            switch (f)
            {
                case 1: inputs.Add(Text(value)); break;
                case 2: outputs.Add(Text(value)); break;
                case 4: opType = Text(value); break;
                case 7: domain = Text(value); break;
                case 5: // AttributeProto: name (1), i (3)
                    var attribute = Fields(value).ToList();
                    if (attribute.FirstOrDefault(a => a.Field == 3) is { Value: not null } i)
                    {
                        attributes[Text(attribute.Single(a => a.Field == 1).Value)] = Varint(i.Value);
                    }
                    break;
            }
        }
        return new Node(opType, domain, inputs, outputs, attributes);
    }

    /// <summary>Every field of a message: its number, its bytes (a varint's value is re-encoded as 8 bytes), and whether it was length-delimited.</summary>
    private static IEnumerable<(int Field, byte[] Value, bool Packed)> Fields(byte[] message)
    {
        var input = new CodedInputStream(message);
        var fields = new List<(int, byte[], bool)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.LengthDelimited:
                    fields.Add((field, input.ReadBytes().ToByteArray(), true));
                    break;
                case WireFormat.WireType.Varint:
                    fields.Add((field, BitConverter.GetBytes(input.ReadInt64()), false));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return fields;
    }

    private static IEnumerable<long> PackedVarints(byte[] value)
    {
        var input = new CodedInputStream(value);
        var values = new List<long>();
        while (!input.IsAtEnd)
        {
            values.Add(input.ReadInt64());
        }
        return values;
    }

    private static string Text(byte[] value) => System.Text.Encoding.UTF8.GetString(value);

    private static long Varint(byte[] value) => BitConverter.ToInt64(value);

    /// <summary>One node: op type, domain, input and output names, integer attributes.</summary>
    internal sealed record Node(string OpType, string Domain, List<string> Inputs, List<string> Outputs, Dictionary<string, long> Attributes);
}
