using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Onnx;

namespace Sluice.Inference.Generation;

/// <summary>
/// A small Llama-style decoder with seeded random weights, for trying <c>op: generate</c> and for its tests: no LLM
/// ships in a package here. Standard ONNX ops only (opset 17): token and learned position embeddings (Gather on
/// <c>position_ids</c>), per layer RMSNorm, multi-head attention with a causal mask and <c>attention_mask</c> and a
/// KV cache (<c>present = Concat(past, new)</c>), RMSNorm, a SwiGLU MLP (2 x hidden); a final RMSNorm and the LM head.
/// Inputs: <c>input_ids</c>, <c>attention_mask</c> [batch, past+seq], <c>position_ids</c> (int64),
/// <c>past_key_values.%d.key/value</c> [batch, heads, past, head] float. Outputs: <c>logits</c> [batch, seq, vocab],
/// <c>present.%d.key/value</c> [batch, heads, past+seq, head]. The causal mask is by column: query i of a run with
/// S new tokens and T columns may see columns 0..T-S+i, so a row's tokens must be right-aligned in the cache
/// (a continuous batch) or right-padded in the prompt (a static batch); columns a row does not own are masked.
/// Files written: <c>model.onnx</c>, <c>tokenizer.json</c> (byte-level BPE: the 256 bytes, then
/// <c>&lt;|bos|&gt;</c> and <c>&lt;|eos|&gt;</c>), <c>genai_config.json</c> (type llama, for ONNX Runtime GenAI) and
/// <c>tokenizer_config.json</c>.
/// </summary>
public static class TinyDecoder
{
    public const int Vocab = 258;
    public const int BosTokenId = 256;
    public const int EosTokenId = 257;
    public const int Hidden = 64;
    public const int Heads = 4;
    public const int Layers = 2;

    /// <summary>The exported model's size; a benchmark builds larger ones with the same code.</summary>
    public static DecoderShape DefaultShape { get; } = new(Hidden, Heads, Layers);

    /// <summary>Learned positions: a row's prompt plus its generated tokens must stay below this.</summary>
    public const int ContextLength = 512;

    /// <summary>The weights' seed when none is given: the exported model is the same every time.</summary>
    public const int DefaultSeed = 1234;

    private const int Opset = 17;
    private const float Epsilon = 1e-5f;

    /// <summary>Writes the model's files into <paramref name="dir"/> (created if missing).</summary>
    public static PackagedModelFiles Export(string dir, int seed = DefaultSeed, DecoderShape? shape = null)
    {
        shape ??= DefaultShape;
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, GenerationModel.ModelFile);
        var tokenizer = Path.Combine(dir, GenerationModel.TokenizerFile);
        // Each file written beside its target and renamed: a reader never sees half of one.
        static void Write(string path, byte[] bytes) => PackagedModels.WriteAtomically(path, s => s.Write(bytes));
        Write(model, Build(seed, shape).ToByteArray());
        Write(tokenizer, Encoding.UTF8.GetBytes(TokenizerJson()));
        Write(Path.Combine(dir, GenerationModel.GenAiConfigFile), Encoding.UTF8.GetBytes(GenAiConfig(shape)));
        Write(Path.Combine(dir, "tokenizer_config.json"), Encoding.UTF8.GetBytes(
            """{ "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|eos|>", "add_bos_token": true }"""));
        return new PackagedModelFiles(Path.GetFullPath(dir), Path.GetFullPath(model), Path.GetFullPath(tokenizer));
    }

    /// <summary>The graph with weights drawn from <paramref name="seed"/>.</summary>
    public static ModelProto Build(int seed = DefaultSeed, DecoderShape? shape = null)
    {
        var (hidden, heads, layers) = shape ?? DefaultShape;
        var headSize = hidden / heads;
        var g = new Graph(new Random(seed));
        g.Input("input_ids", TensorProto.Types.DataType.Int64, "batch", "seq");
        g.Input("attention_mask", TensorProto.Types.DataType.Int64, "batch", "total");
        g.Input("position_ids", TensorProto.Types.DataType.Int64, "batch", "seq");
        for (var l = 0; l < layers; l++)
        {
            g.Input($"past_key_values.{l}.key", TensorProto.Types.DataType.Float, "batch", heads, "past", headSize);
            g.Input($"past_key_values.{l}.value", TensorProto.Types.DataType.Float, "batch", heads, "past", headSize);
        }

        var tokens = g.Weight("embed.tokens", 1f, Vocab, hidden);
        var positions = g.Weight("embed.positions", 0.5f, ContextLength, hidden);
        var x = g.Node("Add", [g.Node("Gather", [tokens, "input_ids"]), g.Node("Gather", [positions, "position_ids"])]);
        var bias = MaskBias(g);
        for (var l = 0; l < layers; l++) x = Layer(g, l, x, bias, hidden, heads);
        var logits = g.Node("MatMul", [RmsNorm(g, "final_norm", x, hidden), g.Weight("lm_head", 1f / MathF.Sqrt(hidden), hidden, Vocab)], "logits");
        g.Output(logits, "batch", "seq", Vocab);
        for (var l = 0; l < layers; l++)
        {
            g.Output($"present.{l}.key", "batch", heads, "total", headSize);
            g.Output($"present.{l}.value", "batch", heads, "total", headSize);
        }
        return new ModelProto
        {
            IrVersion = 8,
            ProducerName = "sluice",
            DocString = $"tiny random-weight decoder (seed {seed}) built by Sluice for op: generate",
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
            Graph = g.Proto,
        };
    }

    /// <summary>[batch, 1, seq, total] float: 0 where a query may attend a column (causal by column and unmasked), -1e9 elsewhere.</summary>
    private static string MaskBias(Graph g)
    {
        var ids = g.Node("Shape", ["input_ids"]);
        var seq = g.Node("Gather", [ids, g.Int64s("one_index", [1])]);            // [1]
        var total = g.Node("Gather", [g.Node("Shape", ["attention_mask"]), "one_index"]);
        var zero = g.Int64Scalar("zero", 0);
        var one = g.Int64Scalar("one", 1);
        var columns = g.Node("Range", [zero, g.Node("Squeeze", [total]), one]);  // [T]
        var past = g.Node("Sub", [total, seq]);                                    // [1]
        var rows = g.Node("Add", [g.Node("Range", [zero, g.Node("Squeeze", [seq]), one]), past]); // [S]
        var causal = g.Node("LessOrEqual", [
            g.Node("Unsqueeze", [columns, g.Int64s("axis0", [0])]),
            g.Node("Unsqueeze", [rows, g.Int64s("axis1", [1])])]);                 // [S, T]
        var unmasked = g.Node("Cast", [g.Node("Unsqueeze", ["attention_mask", g.Int64s("axes12", [1, 2])])], attributes: [Int("to", (long)TensorProto.Types.DataType.Bool)]); // [B,1,1,T]
        var allowed = g.Node("And", [causal, unmasked]);                           // [B,1,S,T]
        return g.Node("Where", [allowed, g.FloatScalar("zero_f", 0f), g.FloatScalar("masked_f", -1e9f)]);
    }

    private static string Layer(Graph g, int l, string x, string bias, int hidden, int heads)
    {
        var p = $"layers.{l}.";
        var h = RmsNorm(g, p + "attn_norm", x, hidden);
        var scale = 1f / MathF.Sqrt(hidden);
        var headSize = hidden / heads;
        var ffn = 2 * hidden;
        var shape = g.Int64s("heads_shape", [0, 0, heads, headSize]);
        string Heads_(string name) => g.Node("Transpose", [g.Node("Reshape", [g.Node("MatMul", [h, g.Weight(p + name, scale, hidden, hidden)]), shape])], attributes: [Ints("perm", 0, 2, 1, 3)]);
        var q = Heads_("q");
        var key = g.Node("Concat", [$"past_key_values.{l}.key", Heads_("k")], $"present.{l}.key", [Int("axis", 2)]);
        var value = g.Node("Concat", [$"past_key_values.{l}.value", Heads_("v")], $"present.{l}.value", [Int("axis", 2)]);
        var scores = g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [key], attributes: [Ints("perm", 0, 1, 3, 2)])]), g.FloatScalar("attn_scale", 1f / MathF.Sqrt(headSize))]);
        var weights = g.Node("Softmax", [g.Node("Add", [scores, bias])], attributes: [Int("axis", -1)]);
        var merged = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [weights, value])], attributes: [Ints("perm", 0, 2, 1, 3)]), g.Int64s("merge_shape", [0, 0, hidden])]);
        x = g.Node("Add", [x, g.Node("MatMul", [merged, g.Weight(p + "o", scale, hidden, hidden)])]);

        var m = RmsNorm(g, p + "mlp_norm", x, hidden);
        var gate = g.Node("MatMul", [m, g.Weight(p + "gate", scale, hidden, ffn)]);
        var up = g.Node("MatMul", [m, g.Weight(p + "up", scale, hidden, ffn)]);
        var act = g.Node("Mul", [g.Node("Mul", [gate, g.Node("Sigmoid", [gate])]), up]);
        return g.Node("Add", [x, g.Node("MatMul", [act, g.Weight(p + "down", 1f / MathF.Sqrt(ffn), ffn, hidden)])]);
    }

    private static string RmsNorm(Graph g, string name, string x, int hidden)
    {
        var meanSquare = g.Node("ReduceMean", [g.Node("Mul", [x, x])], attributes: [Ints("axes", -1), Int("keepdims", 1)]);
        var rms = g.Node("Sqrt", [g.Node("Add", [meanSquare, g.FloatScalar("rms_eps", Epsilon)])]);
        return g.Node("Mul", [g.Node("Div", [x, rms]), g.Ones(name + ".weight", hidden)]);
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    /// <summary>
    /// A Hugging Face <c>tokenizer.json</c>: byte-level BPE whose vocabulary is the 256 bytes (in GPT-2's byte-to-unicode
    /// spelling, id = byte value) and no merges, plus the special tokens.
    /// </summary>
    public static string TokenizerJson()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var chars = ByteLevel.ByteToChar;
        for (var b = 0; b < 256; b++) vocab[chars[b].ToString()] = b;
        vocab["<|bos|>"] = BosTokenId;
        vocab["<|eos|>"] = EosTokenId;
        var doc = new
        {
            version = "1.0",
            added_tokens = new[]
            {
                new { id = BosTokenId, content = "<|bos|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
                new { id = EosTokenId, content = "<|eos|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
            },
            normalizer = (object?)null,
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            post_processor = (object?)null,
            decoder = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            model = new { type = "BPE", dropout = (object?)null, unk_token = (object?)null, continuing_subword_prefix = (object?)null, end_of_word_suffix = (object?)null, fuse_unk = false, byte_fallback = false, vocab, merges = Array.Empty<string>() },
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>ONNX Runtime GenAI's <c>genai_config.json</c> for the model (type llama; Concat KV, so no shared buffer).</summary>
    public static string GenAiConfig(DecoderShape? shape = null)
    {
        var (hidden, heads, layers) = shape ?? DefaultShape;
        var doc = new
        {
            model = new
            {
                bos_token_id = BosTokenId,
                eos_token_id = EosTokenId,
                pad_token_id = EosTokenId,
                context_length = ContextLength,
                vocab_size = Vocab,
                type = "llama",
                decoder = new
                {
                    filename = GenerationModel.ModelFile,
                    head_size = hidden / heads,
                    hidden_size = hidden,
                    num_attention_heads = heads,
                    num_hidden_layers = layers,
                    num_key_value_heads = heads,
                    session_options = new { log_id = "onnxruntime-genai", provider_options = Array.Empty<object>() },
                    inputs = new { input_ids = "input_ids", attention_mask = "attention_mask", position_ids = "position_ids", past_key_names = "past_key_values.%d.key", past_value_names = "past_key_values.%d.value" },
                    outputs = new { logits = "logits", present_key_names = "present.%d.key", present_value_names = "present.%d.value" },
                },
            },
            search = new { do_sample = false, max_length = ContextLength, min_length = 0, num_beams = 1, num_return_sequences = 1, past_present_share_buffer = false, temperature = 1.0, top_k = 1, top_p = 1.0, repetition_penalty = 1.0, early_stopping = true, length_penalty = 1.0, no_repeat_ngram_size = 0, diversity_penalty = 0.0 },
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Builds a graph: unique value names, weights as initializers.</summary>
    private sealed class Graph(Random random)
    {
        private int _next;
        private readonly HashSet<string> _constants = new(StringComparer.Ordinal);

        public GraphProto Proto { get; } = new() { Name = "tiny_decoder" };

        public string Node(string op, string[] inputs, string? output = null, AttributeProto[]? attributes = null)
        {
            output ??= $"{op.ToLowerInvariant()}_{_next++}";
            var node = new NodeProto { OpType = op, Name = $"{op}_{_next++}", Input = { inputs }, Output = { output } };
            if (attributes is not null) node.Attribute.Add(attributes);
            Proto.Node.Add(node);
            return output;
        }

        public void Input(string name, TensorProto.Types.DataType type, params object[] dims) => Proto.Input.Add(Info(name, type, dims));

        public void Output(string name, params object[] dims) => Proto.Output.Add(Info(name, TensorProto.Types.DataType.Float, dims));

        /// <summary>Normal(0, std) weights of the given shape, drawn in order from the graph's seeded generator.</summary>
        public string Weight(string name, float std, params long[] dims)
        {
            var count = dims.Aggregate(1L, (a, d) => a * d);
            var values = new float[count];
            for (var i = 0; i < count; i++) values[i] = std * Normal();
            return Floats(name, values, dims);
        }

        public string Ones(string name, long size) => Floats(name, Enumerable.Repeat(1f, (int)size).ToArray(), [size]);

        public string FloatScalar(string name, float value) => _constants.Contains(name) ? name : Floats(name, [value], []);

        public string Int64Scalar(string name, long value) => Int64s(name, [value], scalar: true);

        public string Int64s(string name, long[] values, bool scalar = false)
        {
            if (!_constants.Add(name)) return name;
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { values } };
            if (!scalar) t.Dims.Add(values.Length);
            Proto.Initializer.Add(t);
            return name;
        }

        private string Floats(string name, float[] values, long[] dims)
        {
            _constants.Add(name);
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            Proto.Initializer.Add(new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, Dims = { dims }, RawData = ByteString.CopyFrom(bytes) });
            return name;
        }

        private float Normal()
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        private static ValueInfoProto Info(string name, TensorProto.Types.DataType type, object[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (var d in dims)
                shape.Dim.Add(d is string p ? new TensorShapeProto.Types.Dimension { DimParam = p } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
        }
    }
}

/// <summary>A decoder's size: <paramref name="Hidden"/> split over <paramref name="Heads"/> heads (it must divide), <paramref name="Layers"/> layers, an MLP of 2 x hidden.</summary>
public sealed record DecoderShape(int Hidden, int Heads, int Layers);

/// <summary>GPT-2's byte-level spelling: each byte as one printable character (what byte-level BPE vocabularies key on).</summary>
internal static class ByteLevel
{
    public static IReadOnlyList<char> ByteToChar { get; } = Build();

    private static char[] Build()
    {
        var map = new char[256];
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }
}
