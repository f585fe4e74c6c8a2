using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using Xunit;

namespace ModelSdk.PackageTests
{
    /// <summary>
    /// The path a user takes: dotnet pack, then a new console project outside the repo with
    /// &lt;PackageReference Include="ModelSdk"/&gt; and &lt;OnnxModel Include="digits.onnx"/&gt;.
    /// </summary>
    public sealed class PackageTests : IClassFixture<PackageTests.PackedSdk>
    {
        private readonly PackedSdk _sdk;

        public PackageTests(PackedSdk sdk) => _sdk = sdk;

        [Fact]
        public void A_fresh_console_project_gets_a_typed_class_that_runs_the_model()
        {
            string project = _sdk.NewConsoleProject("App", """
                using System;
                using System.IO;
                using App;

                // Digits comes from digits.onnx (class name from the file name, namespace = root namespace).
                using Digits model = Digits.Load();
                var pixels = new float[Digits.Inputs.Pixels.ElementCount];
                for (int i = 0; i < pixels.Length; i++) pixels[i] = i % 17;
                Digits.Result result = model.Run(pixels);
                Console.WriteLine($"label={result.Label[0]} classes={result.Probabilities.Length}");

                using Digits fromPath = Digits.Load(Path.Combine(AppContext.BaseDirectory, "digits.onnx"));
                using Digits fromBytes = Digits.Load(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "digits.onnx")));
                Console.WriteLine($"same={fromPath.Run(pixels).Label[0] == fromBytes.Run(pixels).Label[0]}");
                """);
            _sdk.CopyModel("digits.onnx", project, "digits.onnx");

            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Matches(@"label=\d classes=10", output);
            Assert.Contains("same=True", output);
            Assert.True(File.Exists(Path.Combine(project, "bin", "Debug", "net10.0", "digits.onnx")), "the model is copied to the output folder");
        }

        [Fact]
        public void A_fresh_web_project_serves_the_typed_model_with_ModelSdk_Hosting_alone()
        {
            // ModelSdk.Hosting brings ModelSdk (same version) and its generator: one PackageReference.
            string project = _sdk.NewProject("Web", """
                using System;
                using System.Linq;
                using System.Net.Http;
                using System.Net.Http.Json;
                using Microsoft.AspNetCore.Builder;
                using Microsoft.AspNetCore.Hosting;
                using Microsoft.AspNetCore.Hosting.Server;
                using Microsoft.AspNetCore.Hosting.Server.Features;
                using Microsoft.Extensions.DependencyInjection;
                using Web;

                var builder = WebApplication.CreateBuilder(args);
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Services.AddOnnxModel<Digits>(o => o.WarmUp = true);
                builder.Services.AddHealthChecks().AddOnnxModelCheck<Digits>();
                var app = builder.Build();
                app.MapPost("/predict", (float[] pixels, Digits model) => model.Run(pixels).Label[0]);
                app.MapHealthChecks("/health");
                await app.StartAsync();
                using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
                var response = await client.PostAsJsonAsync("/predict", new float[64]);
                Console.WriteLine($"status={(int)response.StatusCode} label={await response.Content.ReadAsStringAsync()} health={await client.GetStringAsync("/health")}");
                await app.StopAsync();
                Console.WriteLine($"disposed={app.Services.GetRequiredService<Digits>().IsDisposed}");
                """, "Microsoft.NET.Sdk.Web", "ModelSdk.Hosting");
            _sdk.CopyModel("digits.onnx", project, "digits.onnx");

            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Matches(@"status=200 label=\d health=Healthy", output);
            Assert.Contains("disposed=True", output);
        }

        [Fact]
        public void A_corrupt_model_is_a_build_error_with_an_id_at_the_model_file()
        {
            string project = _sdk.NewConsoleProject("Broken", "System.Console.WriteLine(\"unused\");");
            byte[] model = File.ReadAllBytes(Path.Combine(_sdk.RepoRoot, "models", "digits.onnx"));
            File.WriteAllBytes(Path.Combine(project, "digits.onnx"), model.Take(model.Length / 2).ToArray());

            (int exit, string output) = Dotnet(project, "build");
            Assert.NotEqual(0, exit);
            Assert.Matches(@"digits\.onnx\(1,1\): error MSDK0001: The ONNX model file 'digits\.onnx' could not be read", output);
            Assert.DoesNotContain("CS8785", output); // "generator failed": the generator must never throw
        }

        [Fact]
        public void Paths_with_hash_signs_round_trip_and_a_namespace_with_hash_or_semicolon_is_MSDK0006()
        {
            // '#' starts a comment in the compiler's editorconfig, which used to carry item metadata: the model was "not found".
            string project = _sdk.NewConsoleProject("Hashes", """
                using My.Models;
                using Model1 model = Model1.Load();
                System.Console.WriteLine($"input={Model1.ModelSignature.Inputs[0].Name} path={Model1.DefaultModelPath}");
                """, "<OnnxModel Include=\"C# models/model#1.onnx\" Namespace=\"My.Models\" />");
            Directory.CreateDirectory(Path.Combine(project, "C# models"));
            File.Copy(Path.Combine(_sdk.RepoRoot, "models", "tiny.onnx"), Path.Combine(project, "C# models", "model#1.onnx"));
            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Contains("input=x path=model#1.onnx", output);

            string bad = _sdk.NewConsoleProject("BadNamespace", "System.Console.WriteLine();", "<OnnxModel Include=\"digits.onnx\" Namespace=\"My#Ns;x\" />");
            _sdk.CopyModel("digits.onnx", bad, "digits.onnx");
            (exit, output) = Dotnet(bad, "build");
            Assert.NotEqual(0, exit);
            Assert.Contains("error MSDK0006: Namespace 'My#Ns;x'", output);
        }

        [Fact]
        public void Rename_metadata_goes_through_the_build_with_its_semicolons()
        {
            string project = _sdk.NewConsoleProject("Renamed", """
                using Renamed;
                using Digits model = Digits.Load();
                Digits.Result result = model.Run(image: new float[Digits.Inputs.Image.ElementCount]);
                System.Console.WriteLine($"digit={result.Digit[0]} classes={result.Scores.Length}");
                """, "<OnnxModel Include=\"digits.onnx\" Rename=\"pixels=image;label=digit;probabilities=scores\" />");
            _sdk.CopyModel("digits.onnx", project, "digits.onnx");
            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Matches(@"digit=\d classes=10", output);
        }

        [Fact]
        public void A_model_replaced_with_the_same_timestamp_is_read_again()
        {
            string project = _sdk.NewConsoleProject("Replaced", """
                System.Console.WriteLine($"input={Replaced.M.ModelSignature.Inputs[0].Name}");
                """, "<OnnxModel Include=\"model.onnx\" ClassName=\"M\" />");
            string model = Path.Combine(project, "model.onnx");
            File.Copy(Path.Combine(_sdk.RepoRoot, "models", "digits.onnx"), model);
            DateTime stamp = File.GetLastWriteTimeUtc(model);
            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Contains("input=pixels", output);

            File.Copy(Path.Combine(_sdk.RepoRoot, "models", "tiny.onnx"), model, overwrite: true);
            File.SetLastWriteTimeUtc(model, stamp);
            (exit, output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Contains("input=x", output);
        }

        [Theory]
        [InlineData("../../outside.onnx")]
        [InlineData("/tmp/modelsdk-absolute.onnx")]
        public void A_Link_outside_the_output_folder_is_MSDK0009(string link)
        {
            string project = _sdk.NewConsoleProject("Link" + Math.Abs(link.GetHashCode()), "System.Console.WriteLine();", $"<OnnxModel Include=\"digits.onnx\" Link=\"{link}\" />");
            _sdk.CopyModel("digits.onnx", project, "digits.onnx");
            (int exit, string output) = Dotnet(project, "build");
            Assert.NotEqual(0, exit);
            Assert.Contains("error MSDK0009: The Link '" + link + "'", output);
        }

        [Fact]
        public void A_Native_AOT_publish_of_a_consumer_app_has_no_warnings_and_runs()
        {
            // ModelSdk declares IsAotCompatible: keep it true. Needs clang (.ci/run installs it) and the ILCompiler package the SDK picks.
            string project = _sdk.NewConsoleProject("AotApp", """
                using AotApp;
                using Digits model = Digits.Load();
                var pixels = new float[Digits.Inputs.Pixels.ElementCount];
                for (int i = 0; i < pixels.Length; i++) pixels[i] = i % 17;
                long label = model.Run(pixels).Label[0];
                using Digits.OwnedResult owned = await model.RunAsync(pixels);
                System.Console.WriteLine($"label={label} async={owned.Label[0]} classes={owned.Probabilities.Length}");
                """);
            _sdk.AddDigitsAndProperty(project, "<PublishAot>true</PublishAot>");
            (int exit, string output) = Dotnet(project, "publish -c Release -r linux-x64 -o out");
            Assert.True(exit == 0, output);
            Assert.DoesNotContain("warning", output, StringComparison.OrdinalIgnoreCase);
            string app = Path.Combine(project, "out", "AotApp");
            Assert.True(File.Exists(app), "a native executable is published");
            var start = new ProcessStartInfo(app) { WorkingDirectory = Path.Combine(project, "out"), RedirectStandardOutput = true, RedirectStandardError = true };
            using Process process = Process.Start(start)!;
            string printed = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), "the published app did not finish");
            Assert.True(process.ExitCode == 0, printed);
            Assert.Matches(@"label=(\d) async=\1 classes=10", printed);
        }

        [Fact]
        public void ModelSdkNativePlatforms_keeps_only_the_named_platforms_native_libraries()
        {
            string project = _sdk.NewConsoleProject("OnePlatform", """
                using OnePlatform;
                using Digits model = Digits.Load();
                System.Console.WriteLine($"label={model.Run(new float[64]).Label[0]}");
                """, "<OnnxModel Include=\"digits.onnx\" />");
            _sdk.AddDigitsAndProperty(project, "<ModelSdkNativePlatforms>linux-x64</ModelSdkNativePlatforms>");
            (int exit, string output) = Dotnet(project, "run");
            Assert.True(exit == 0, output);
            Assert.Matches(@"label=\d", output);
            string runtimes = Path.Combine(project, "bin", "Debug", "net10.0", "runtimes");
            Assert.Equal(new[] { "linux-x64" }, Directory.GetDirectories(runtimes).Select(Path.GetFileName).ToArray());
            long bytes = Directory.GetFiles(Path.Combine(project, "bin", "Debug", "net10.0"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"output folder: {bytes >> 20} MB");
            Assert.True(bytes < 60L << 20, $"the output folder holds {bytes >> 20} MB");
        }

        [Theory]
        [InlineData("ModelSdk")]
        [InlineData("ModelSdk.Hosting")]
        public void The_packages_carry_what_NuGet_shows_license_icon_readme_release_notes_and_symbols(string id)
        {
            string package = Path.Combine(_sdk.Feed, $"{id}.{_sdk.Version}.nupkg");
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), "a symbols package (snupkg) is packed beside the package");
            using var zip = System.IO.Compression.ZipFile.OpenRead(package);
            var nuspec = System.Xml.Linq.XDocument.Load(zip.GetEntry(id + ".nuspec")!.Open());
            System.Xml.Linq.XElement metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? string.Empty;
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("icon.png", Field("icon"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Contains("Dynamic batching", Field("releaseNotes"));
            foreach (string file in new[] { "icon.png", "README.md", "LICENSE" })
            {
                Assert.NotNull(zip.GetEntry(file));
            }
        }

        [Fact]
        public void The_repository_URL_and_Source_Link_come_from_a_GitHub_remote_and_none_is_invented_without_one()
        {
            // This checkout, cloned, with a GitHub remote: the package names the repository and the pdb maps its sources there.
            string clone = Path.Combine(_sdk.Root, "clone");
            (int exit, string output) = Run("git", _sdk.RepoRoot, $"clone --quiet \"{_sdk.RepoRoot}\" \"{clone}\"");
            Assert.True(exit == 0, output);
            Assert.Equal(0, Run("git", clone, "remote set-url origin https://github.com/example/modelsdk.git").Exit);
            string commit = Run("git", clone, "rev-parse HEAD").Output.Trim();
            string feed = Path.Combine(_sdk.Root, "clone-feed");
            (exit, output) = Dotnet(clone, $"pack src/ModelSdk/ModelSdk.csproj -c Release -o \"{feed}\" -p:Version={_sdk.Version}");
            Assert.True(exit == 0, output);
            Assert.DoesNotContain("warning", output, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("https://github.com/example/modelsdk.git", RepositoryUrl(Path.Combine(feed, $"ModelSdk.{_sdk.Version}.nupkg")));
            using (var symbols = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"ModelSdk.{_sdk.Version}.snupkg")))
            {
                using var pdb = new StreamReader(symbols.Entries.Single(e => e.Name == "ModelSdk.pdb").Open(), System.Text.Encoding.Latin1);
                Assert.Contains($"https://raw.githubusercontent.com/example/modelsdk/{commit}/*", pdb.ReadToEnd());
            }

            // The package built from this checkout: a URL only if its own remote is one (CI clones from a path: none).
            (int remoteExit, string remote) = Run("git", _sdk.RepoRoot, "remote get-url origin");
            string? expected = remoteExit == 0 && remote.Trim().StartsWith("https://", StringComparison.Ordinal) ? remote.Trim() : null;
            Assert.Equal(expected, RepositoryUrl(Path.Combine(_sdk.Feed, $"ModelSdk.{_sdk.Version}.nupkg")));
        }

        private static string? RepositoryUrl(string package)
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(package);
            var nuspec = System.Xml.Linq.XDocument.Load(zip.Entries.Single(e => e.Name.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            System.Xml.Linq.XElement repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
            Assert.NotNull(repository.Attribute("commit")); // the commit is always recorded
            return repository.Attribute("url")?.Value;
        }

        /// <summary>Runs a program to its end, within 10 minutes: a hung build or git fails the test instead of CI.</summary>
        private static (int Exit, string Output) Run(string program, string workingDirectory, string arguments)
        {
            var start = new ProcessStartInfo(program, arguments)
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            using Process process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"'{program} {arguments}' did not end within 10 minutes.");
            }

            return (process.ExitCode, output.Result + error.Result);
        }

        private static (int Exit, string Output) Dotnet(string workingDirectory, string arguments) => Run("dotnet", workingDirectory, arguments);

        /// <summary>Packs ModelSdk once (with a version unique to this run, so no stale package is taken from NuGet's cache).</summary>
        public sealed class PackedSdk : IDisposable
        {
            public PackedSdk()
            {
                RepoRoot = typeof(PackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;
                Root = Directory.CreateTempSubdirectory("modelsdk-package-").FullName;
                Feed = Path.Combine(Root, "feed");
                Version = "0.1.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
                foreach (string package in new[] { "src/ModelSdk/ModelSdk.csproj", "src/ModelSdk.Hosting/ModelSdk.Hosting.csproj" })
                {
                    (int exit, string output) = Dotnet(RepoRoot, $"pack {package} -c Release -o \"{Feed}\" -p:Version={Version}");
                    Assert.True(exit == 0, output);
                }
            }

            public string RepoRoot { get; }

            public string Root { get; }

            public string Feed { get; }

            public string Version { get; }

            /// <summary>A console project outside the repo (no Directory.Build.* of ours applies) that uses the packed ModelSdk.</summary>
            public string NewConsoleProject(string name, string program, string items = DefaultItems) => NewProject(name, program, "Microsoft.NET.Sdk", "ModelSdk", items);

            private const string DefaultItems = "<OnnxModel Include=\"digits.onnx\" />";

            /// <summary>A project of <paramref name="sdk"/> outside the repo that references the packed <paramref name="package"/>.</summary>
            public string NewProject(string name, string program, string sdk, string package, string items = DefaultItems)
            {
                string dir = Path.Combine(Root, name);
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, name + ".csproj"), $"""
                    <Project Sdk="{sdk}">
                      <PropertyGroup>
                        <OutputType>Exe</OutputType>
                        <TargetFramework>net10.0</TargetFramework>
                        <Nullable>enable</Nullable>
                        <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                        <WarningsNotAsErrors>NU1603</WarningsNotAsErrors>
                      </PropertyGroup>
                      <ItemGroup>
                        <PackageReference Include="{package}" Version="{Version}" />
                        {items}
                      </ItemGroup>
                    </Project>
                    """);
                File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
                File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
                    <?xml version="1.0" encoding="utf-8"?>
                    <configuration>
                      <packageSources>
                        <add key="local" value="{Feed}" />
                      </packageSources>
                    </configuration>
                    """);
                return dir;
            }

            /// <summary>Copies digits.onnx into <paramref name="project"/> and adds <paramref name="property"/> (an MSBuild property element) to its project file.</summary>
            /// <summary>Copies the repo's model <paramref name="model"/> into <paramref name="project"/> as <paramref name="as"/>.</summary>
            public void CopyModel(string model, string project, string @as) =>
                File.Copy(Path.Combine(RepoRoot, "models", model), Path.Combine(project, @as));

            public void AddDigitsAndProperty(string project, string property)
            {
                CopyModel("digits.onnx", project, "digits.onnx");
                string csproj = Directory.GetFiles(project, "*.csproj").Single();
                File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("<Nullable>", property + "<Nullable>"));
            }

            public void Dispose() => Directory.Delete(Root, recursive: true);
        }
    }
}
