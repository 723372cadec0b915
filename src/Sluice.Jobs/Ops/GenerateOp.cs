using Sluice.Contracts;
using Sluice.Inference.Generation;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs.Ops;

/// <summary>
/// <c>generate</c>: autoregressive text generation from a prompt column or a template over columns
/// (<see cref="GenerateOptions"/>), continuous-batched in our own loop over ONNX Runtime or in GenAI static batches.
/// The model's directory is resolved here to its files (model.onnx, tokenizer.json, genai_config.json when there), so a cluster ships them all.
/// </summary>
internal sealed class GenerateOp() : ProcessorOp<GenerateProcessor, GenerateOptions>("generate", ResourceRequest.OneCpu,
    "LLM text generation (continuous batching): generated_text, prompt_tokens, completion_tokens, finish_reason")
{
    /// <summary>
    /// <c>partition:</c> is refused: pipeline stages joined by queues cannot carry an autoregressive loop, whose every
    /// step needs the whole model and each row's KV cache; <c>tensor_parallel</c> splits the decoder inside one actor instead.
    /// </summary>
    public override StagePlan? Bind(StageInput stage, SpecContext context)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(context);
        if (SpecContext.Node(stage.Node, "partition") is { } partition)
        {
            context.Error(partition, $"{stage.Path}.partition", (partition as YamlScalarNode)?.Value ?? "a mapping",
                "op generate cannot be cut into pipeline stages (each token's step needs every layer and the rows' KV cache, so a chain of stages would pass every step through every queue); " +
                "split the decoder over one actor's devices with tensor_parallel: N (and gpus: N), or leave partition out");
            return null;
        }
        return base.Bind(stage, context);
    }

    protected override StagePlan? Plan(GenerateOptions options, StageInput stage, SpecContext context)
    {
        if (context.IsNotFetched(options.Model)) return base.Plan(options, stage, context);
        var model = Directory.Exists(options.Model) ? Path.Combine(options.Model, "model.onnx") : options.Model;
        if (!File.Exists(model))
        {
            context.Error(SpecContext.Node(stage.Node, "model"), $"{stage.Path}.model", options.Model,
                "no model.onnx there; give a decoder's model.onnx or its directory (export a tiny one with `sluice models export tiny-decoder --out models/tiny-decoder`)");
            return null;
        }
        var tokenizer = options.Tokenizer ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "tokenizer.json");
        if (!File.Exists(tokenizer))
        {
            context.Error(SpecContext.Node(stage.Node, options.Tokenizer is null ? "model" : "tokenizer"), $"{stage.Path}.tokenizer", tokenizer,
                "the file does not exist; give tokenizer: PATH of the model's tokenizer.json, or put it beside model.onnx");
            return null;
        }
        var config = options.Config ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "genai_config.json");
        if (options.Config is not null && !File.Exists(config))
        {
            context.Error(SpecContext.Node(stage.Node, "config"), $"{stage.Path}.config", config, "the file does not exist; give the model's genai_config.json, or leave config out");
            return null;
        }
        return base.Plan(options with { Model = model, Tokenizer = tokenizer, Config = File.Exists(config) ? config : null }, stage, context);
    }

    protected override IReadOnlyList<string> InputColumns(GenerateOptions options) => options.PromptColumns();

    protected override IReadOnlyList<string>? OutputColumns(GenerateOptions options) =>
        [GenerateOptions.TextColumn, GenerateOptions.PromptTokensColumn, GenerateOptions.CompletionTokensColumn, GenerateOptions.FinishReasonColumn];
}
