export { DEFAULT_GHN_HUB_URL, OFFICIAL_GHN_REPO, OFFICIAL_GHN_REVISION, OFFICIAL_GHNS, isOfficialGhnName, officialGhnFile, type OfficialGhnName } from './official-ghns';
export { downloadHubFile, hubResolveUrl, hubTreeUrl, lookupHubFile, type DownloadOptions, type DownloadedFile, type HubFile, type HubRepo } from './hub-client';
