// The reference sign-in page. First of all, take a magic link's token out of the address bar.
import { linkToken } from './fragment';
import { Amplify } from 'aws-amplify';
import { LINK_CALLBACK_PATH, type App } from './app';
import { loadConfig, managedRedirectUri, userPoolEndpoint } from './config';
import { h, show } from './ui';
import { accountView, managedCallbackView } from './views/account';
import { linkCallbackView } from './views/callback';
import './style.css';

async function boot(): Promise<void> {
  let app: App;
  try {
    const config = await loadConfig();
    Amplify.configure({
      Auth: { Cognito: { userPoolId: config.userPoolId, userPoolClientId: config.clientId, userPoolEndpoint: userPoolEndpoint(config) } },
    });
    app = { config, footer: `Pool ${config.userPoolId}${config.strategy ? ` · ${config.strategy}` : ''}` };
  } catch (error) {
    show('Sign-in is not configured', '', h('div', { class: 'notice error', role: 'alert' }, `This page could not read its pool settings: ${(error as Error).message}`));
    return;
  }
  const managed = managedRedirectUri(app.config);
  const answered = /[?&](code|error)=/.test(location.search);
  if (managed && answered && location.pathname === new URL(managed).pathname) return managedCallbackView(app);
  if (location.pathname === LINK_CALLBACK_PATH) return linkCallbackView(app, linkToken);
  await accountView(app);
}

void boot();
