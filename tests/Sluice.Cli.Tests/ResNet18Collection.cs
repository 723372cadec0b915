namespace Sluice.Cli.Tests;

/// <summary>
/// Tests that export ResNet18 (itself or inside the dual tower) run one at a time: the export opens the package's
/// ResNet18.onnx beside the test assembly, and two exports at once in one process were seen to fail with
/// "The process cannot access the file … because it is being used by another process".
/// </summary>
[CollectionDefinition(Name)]
public sealed class ResNet18Collection
{
    public const string Name = "resnet18 exports";
}
