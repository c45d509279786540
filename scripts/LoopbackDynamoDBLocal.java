// Runs DynamoDB Local bound to 127.0.0.1 (its own ServerRunner binds every interface and has no host
// option). Not part of the build: compile with javac -cp "DynamoDBLocal.jar:DynamoDBLocal_lib/*" and run as
// the README's "The embedded store: dynalite or DynamoDB Local" shows (store-bench.ts then takes --endpoint).
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/** DynamoDB Local with its Jetty connector bound to 127.0.0.1, set before the server starts. */
public class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field f = DynamoDBProxyServer.class.getDeclaredField("server");
    f.setAccessible(true);
    Server server = (Server) f.get(proxy);
    for (Connector c : server.getConnectors()) ((ServerConnector) c).setHost("127.0.0.1");
    proxy.start();
    proxy.join();
  }
}
