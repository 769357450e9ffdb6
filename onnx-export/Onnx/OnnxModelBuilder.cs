using Microsoft.Win32.SafeHandles;

namespace Qwen.OnnxExport.Onnx;

/// <summary>
/// Collects nodes, inputs, outputs and initializers of one ONNX graph and writes the ModelProto. Initializer data goes
/// to an external data file as it is added, streamed by the caller in chunks; the graph keeps only name, shape and offset.
/// Without a data file (plan-only) it computes every initializer's shape and byte range and writes nothing.
/// </summary>
internal sealed class OnnxModelBuilder(SafeFileHandle? externalData, string externalDataFileName, Action<long>? written = null)
{
    // onnx.proto field numbers.
    private const int ModelIrVersion = 1, ModelProducer = 2, ModelGraph = 7, ModelOpset = 8;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    private const int AttrName = 1, AttrF = 2, AttrI = 3, AttrInts = 8, AttrType = 20;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9, TensorExternal = 13, TensorLocation = 14;
    private const int Alignment = 64; // every tensor 64-byte aligned in the data file, so ORT can map it without copies

    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private readonly List<PlannedInitializer> _planned = [];
    private int _nodeCount;

    /// <summary>Bytes of the external data file so far (the final size once the graph is built).</summary>
    public long ExternalDataLength { get; private set; }

    /// <summary>Every external initializer so far, in file order.</summary>
    public IReadOnlyList<PlannedInitializer> Initializers => _planned;

    /// <summary>Declares a graph input; a dimension is a number or a symbolic name.</summary>
    public void Input(string name, OnnxType type, params object[] dims) => _inputs.Add(ValueInfo(name, type, dims));

    /// <summary>Declares a graph output.</summary>
    public void Output(string name, OnnxType type, params object[] dims) => _outputs.Add(ValueInfo(name, type, dims));

    /// <summary>
    /// Adds an initializer stored in the external data file: reserves its byte range and, unless this is a plan-only
    /// build, runs <paramref name="produce"/> now to fill it (in any order, one chunk at a time).
    /// </summary>
    public string Initializer(string name, OnnxType type, long[] dims, Action<TensorWriter> produce)
    {
        var length = dims.Aggregate(1L, (a, d) => checked(a * d)) * ElementSize(type);
        var offset = ExternalDataLength;
        var end = offset + length;
        var padded = (end + Alignment - 1) / Alignment * Alignment;
        if (externalData is not null)
        {
            var writer = new TensorWriter(externalData, offset, length, written);
            produce(writer);
            writer.Complete();
            if (padded > end)
            {
                RandomAccess.Write(externalData, new byte[padded - end], end);
            }
        }
        ExternalDataLength = padded;
        _planned.Add(new PlannedInitializer(name, type, dims, offset, length));

        var t = new ProtoWriter();
        foreach (var d in dims)
        {
            t.Int(TensorDims, d);
        }
        t.Int(TensorDataType, (int)type).String(TensorName, name);
        t.Message(TensorExternal, Entry("location", externalDataFileName));
        t.Message(TensorExternal, Entry("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Message(TensorExternal, Entry("length", length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Int(TensorLocation, 1);
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>Adds a small initializer stored inside the graph (shapes, axes).</summary>
    public string Constant(string name, long[] values)
    {
        var t = new ProtoWriter().Int(TensorDims, values.Length).Int(TensorDataType, (int)OnnxType.Int64).String(TensorName, name);
        var bytes = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        t.Bytes(TensorRawData, bytes);
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>Adds a scalar int64 stored inside the graph.</summary>
    public string ScalarConstant(string name, long value)
    {
        var t = new ProtoWriter().Int(TensorDataType, (int)OnnxType.Int64).String(TensorName, name).Bytes(TensorRawData, BitConverter.GetBytes(value));
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>Adds a scalar float32 stored inside the graph.</summary>
    public string FloatConstant(string name, float value)
    {
        var t = new ProtoWriter().Int(TensorDataType, (int)OnnxType.Float).String(TensorName, name).Bytes(TensorRawData, BitConverter.GetBytes(value));
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>Adds a node; attribute values are long, float or long[]. Returns its first output.</summary>
    public string Node(string opType, string[] inputs, string[] outputs, string domain = "", params (string Name, object Value)[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs)
        {
            n.String(NodeInput, i);
        }
        foreach (var o in outputs)
        {
            n.String(NodeOutput, o);
        }
        n.String(NodeName, $"{opType}_{_nodeCount++}").String(NodeOpType, opType);
        foreach (var (attrName, value) in attributes)
        {
            var a = new ProtoWriter().String(AttrName, attrName);
            switch (value)
            {
                case long l: a.Int(AttrI, l).Int(AttrType, 2); break;
                case int i: a.Int(AttrI, i).Int(AttrType, 2); break;
                case float f: a.Float(AttrF, f).Int(AttrType, 1); break;
                case long[] ls:
                    foreach (var l in ls)
                    {
                        a.Int(AttrInts, l);
                    }
                    a.Int(AttrType, 7);
                    break;
                default: throw new ArgumentException($"unsupported attribute type {value.GetType()}", nameof(attributes));
            }
            n.Message(NodeAttribute, a.ToArray());
        }
        if (domain.Length > 0)
        {
            n.String(NodeDomain, domain);
        }
        _nodes.Add(n.ToArray());
        return outputs[0];
    }

    /// <summary>Writes the ModelProto (ir_version 8, opset 17 + com.microsoft 1).</summary>
    public void WriteModel(Stream destination, string graphName)
    {
        var g = new ProtoWriter();
        foreach (var n in _nodes)
        {
            g.Message(GraphNode, n);
        }
        g.String(GraphName, graphName);
        foreach (var i in _initializers)
        {
            g.Message(GraphInitializer, i);
        }
        foreach (var i in _inputs)
        {
            g.Message(GraphInput, i);
        }
        foreach (var o in _outputs)
        {
            g.Message(GraphOutput, o);
        }

        var m = new ProtoWriter().Int(ModelIrVersion, 8).String(ModelProducer, "qwen-server-onnx-export");
        m.Message(ModelGraph, g.ToArray());
        m.Message(ModelOpset, new ProtoWriter().String(1, "").Int(2, 17).ToArray());
        m.Message(ModelOpset, new ProtoWriter().String(1, "com.microsoft").Int(2, 1).ToArray());
        var bytes = m.ToArray();
        destination.Write(bytes);
    }

    private static int ElementSize(OnnxType type) => type switch
    {
        OnnxType.Float or OnnxType.Int32 => 4,
        OnnxType.Int64 => 8,
        OnnxType.Float16 => 2,
        OnnxType.UInt8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    private static byte[] Entry(string key, string value) => new ProtoWriter().String(1, key).String(2, value).ToArray();

    private static byte[] ValueInfo(string name, OnnxType type, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = d switch
            {
                string s => new ProtoWriter().String(2, s),
                _ => new ProtoWriter().Int(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)),
            };
            shape.Message(1, dim.ToArray());
        }
        var tensorType = new ProtoWriter().Int(1, (int)type).Message(2, shape.ToArray());
        var typeProto = new ProtoWriter().Message(1, tensorType.ToArray());
        return new ProtoWriter().String(1, name).Message(2, typeProto.ToArray()).ToArray();
    }
}
